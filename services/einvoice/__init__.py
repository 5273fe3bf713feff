"""E-invoices from one internal model: CII (Factur-X EN 16931, XRechnung) and UBL (XRechnung, Peppol BIS
3.0), judged by the official rules. See docs/einvoice.md."""
