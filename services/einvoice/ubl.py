"""A Document -> OASIS UBL 2.1 Invoice or CreditNote, as XRechnung 3.0 UBL or Peppol BIS Billing 3.0.

Built with lxml element by element, in the order of the UBL 2.1 schema.
"""
from __future__ import annotations

import datetime as dt
from copy import deepcopy
from decimal import Decimal

from lxml import etree

from .cii import PEPPOL_PROCESS, XRECHNUNG, amount, number
from .elements import Elements
from .model import Address, Document, Party, VatCategory

INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS = {"cac": CAC, "cbc": CBC}

PEPPOL = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"


class _Builder:
    sub = Elements(NS)
    optional = sub.optional

    def __init__(self, doc: Document, xrechnung: bool):
        self.doc = doc
        # XRechnung's BR-DE-14 wants a rate (0) even in an O breakdown; Peppol's own examples leave it out.
        self.xrechnung = xrechnung
        self._categories: dict[tuple, etree._Element] = {}  # category() builds each once, then copies it
        self._scratch = etree.Element(f"{{{CAC}}}Scratch", nsmap=NS)  # where those are built, with our prefixes

    def money(self, parent, tag: str, value: Decimal):
        return self.sub(parent, tag, amount(value, self.doc.currency), currencyID=self.doc.currency)

    def date(self, parent, tag: str, value: dt.date):
        return self.sub(parent, tag, value.isoformat())

    def category(self, parent, tag: str, category: VatCategory, rate: Decimal, *, reason: str = "", code: str = "",
                 always_rate: bool = False):
        """The tax category, as every line repeats it: built once per document, then copied (in C)."""
        key = (tag, category, rate, reason, code, always_rate)
        template = self._categories.get(key)
        if template is None:
            template = self._categories[key] = self._category(self._scratch, tag, category, rate, reason=reason,
                                                              code=code, always_rate=always_rate)
        parent.append(deepcopy(template))

    def _category(self, parent, tag: str, category: VatCategory, rate: Decimal, *, reason: str, code: str,
                  always_rate: bool):
        element = self.sub(parent, tag)
        self.sub(element, "cbc:ID", category.value)
        if category is not VatCategory.OUTSIDE_SCOPE or always_rate:
            self.sub(element, "cbc:Percent", number(rate))
        self.optional(element, "cbc:TaxExemptionReasonCode", code)
        self.optional(element, "cbc:TaxExemptionReason", reason)
        self.sub(self.sub(element, "cac:TaxScheme"), "cbc:ID", "VAT")
        return element

    def address(self, parent, tag: str, address: Address):
        element = self.sub(parent, tag)
        lines = [text for text in address.lines if text]
        if lines:
            self.sub(element, "cbc:StreetName", lines[0])
        if len(lines) > 1:
            self.sub(element, "cbc:AdditionalStreetName", lines[1])
        self.optional(element, "cbc:CityName", address.city)
        self.optional(element, "cbc:PostalZone", address.postcode)
        self.optional(element, "cbc:CountrySubentity", address.subdivision)
        if len(lines) > 2:
            self.sub(self.sub(element, "cac:AddressLine"), "cbc:Line", lines[2])
        self.sub(self.sub(element, "cac:Country"), "cbc:IdentificationCode", address.country)

    def party(self, parent, tag: str, party: Party, *, seller: bool):
        outer = self.sub(parent, tag)
        element = self.sub(outer, "cac:Party")
        if party.electronic_address:
            self.sub(element, "cbc:EndpointID", party.electronic_address.value, schemeID=party.electronic_address.scheme)
        self.address(element, "cac:PostalAddress", party.address)
        if party.vat_id and self.doc.carries_vat_ids:
            scheme = self.sub(element, "cac:PartyTaxScheme")
            self.sub(scheme, "cbc:CompanyID", party.vat_id)
            self.sub(self.sub(scheme, "cac:TaxScheme"), "cbc:ID", "VAT")
        if seller and party.tax_number:
            scheme = self.sub(element, "cac:PartyTaxScheme")
            self.sub(scheme, "cbc:CompanyID", party.tax_number)
            self.sub(self.sub(scheme, "cac:TaxScheme"), "cbc:ID", "FC")
        legal = self.sub(element, "cac:PartyLegalEntity")
        self.sub(legal, "cbc:RegistrationName", party.name)
        self.optional(legal, "cbc:CompanyID", party.registration_id)
        contact = party.contact
        if contact.name or contact.phone or contact.email:
            element_contact = self.sub(element, "cac:Contact")
            self.optional(element_contact, "cbc:Name", contact.name)
            self.optional(element_contact, "cbc:Telephone", contact.phone)
            self.optional(element_contact, "cbc:ElectronicMail", contact.email)

    def render(self, customization: str) -> etree._Element:
        doc = self.doc
        credit = doc.is_credit_note
        root_ns = CREDIT_NOTE if credit else INVOICE
        root = etree.Element(f"{{{root_ns}}}{'CreditNote' if credit else 'Invoice'}",
                             nsmap={None: root_ns, "cac": CAC, "cbc": CBC})
        self.sub(root, "cbc:CustomizationID", customization)
        self.sub(root, "cbc:ProfileID", PEPPOL_PROCESS)
        self.sub(root, "cbc:ID", doc.number)
        self.date(root, "cbc:IssueDate", doc.issue_date)
        if doc.due_date and not credit:
            self.date(root, "cbc:DueDate", doc.due_date)
        self.sub(root, "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode", doc.type.value)
        for note in doc.notes:
            self.sub(root, "cbc:Note", note)
        self.sub(root, "cbc:DocumentCurrencyCode", doc.currency)
        self.optional(root, "cbc:BuyerReference", doc.buyer_reference)
        if doc.period_start or doc.period_end:
            period = self.sub(root, "cac:InvoicePeriod")
            if doc.period_start:
                self.date(period, "cbc:StartDate", doc.period_start)
            if doc.period_end:
                self.date(period, "cbc:EndDate", doc.period_end)
        if doc.corrects:
            reference = self.sub(self.sub(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
            self.sub(reference, "cbc:ID", doc.corrects.number)
            if doc.corrects.issue_date:
                self.date(reference, "cbc:IssueDate", doc.corrects.issue_date)
        self.party(root, "cac:AccountingSupplierParty", doc.seller, seller=True)
        self.party(root, "cac:AccountingCustomerParty", doc.buyer, seller=False)
        if doc.delivery_date or VatCategory.INTRA_COMMUNITY in doc.categories:
            delivery = self.sub(root, "cac:Delivery")
            if doc.delivery_date:
                self.date(delivery, "cbc:ActualDeliveryDate", doc.delivery_date)
            if VatCategory.INTRA_COMMUNITY in doc.categories:
                self.address(self.sub(delivery, "cac:DeliveryLocation"), "cac:Address", doc.buyer.address)
        if doc.payment:
            means = self.sub(root, "cac:PaymentMeans")
            self.sub(means, "cbc:PaymentMeansCode", doc.payment.means_code)
            if doc.due_date and credit:
                self.date(means, "cbc:PaymentDueDate", doc.due_date)
            self.optional(means, "cbc:PaymentID", doc.payment.remittance)
            account = self.sub(means, "cac:PayeeFinancialAccount")
            self.sub(account, "cbc:ID", doc.payment.iban)
            self.optional(account, "cbc:Name", doc.payment.account_name)
            if doc.payment.bic:
                self.sub(self.sub(account, "cac:FinancialInstitutionBranch"), "cbc:ID", doc.payment.bic)
        if doc.payment_terms:
            self.sub(self.sub(root, "cac:PaymentTerms"), "cbc:Note", doc.payment_terms)
        for allowance in doc.allowances:
            charge = self.sub(root, "cac:AllowanceCharge")
            self.sub(charge, "cbc:ChargeIndicator", "false")
            self.sub(charge, "cbc:AllowanceChargeReasonCode", "95")
            self.sub(charge, "cbc:AllowanceChargeReason", allowance.reason)
            self.money(charge, "cbc:Amount", allowance.amount)
            self.category(charge, "cac:TaxCategory", allowance.vat_category, allowance.vat_rate)
        tax_total = self.sub(root, "cac:TaxTotal")
        self.money(tax_total, "cbc:TaxAmount", doc.totals.tax_total)
        for group in doc.breakdown:
            subtotal = self.sub(tax_total, "cac:TaxSubtotal")
            self.money(subtotal, "cbc:TaxableAmount", group.basis)
            self.money(subtotal, "cbc:TaxAmount", group.tax)
            self.category(subtotal, "cac:TaxCategory", group.category, group.rate,
                          reason=group.exemption_reason, code=group.exemption_code,
                          always_rate=self.xrechnung)
        totals = doc.totals
        monetary = self.sub(root, "cac:LegalMonetaryTotal")
        self.money(monetary, "cbc:LineExtensionAmount", totals.line_total)
        self.money(monetary, "cbc:TaxExclusiveAmount", totals.tax_basis)
        self.money(monetary, "cbc:TaxInclusiveAmount", totals.grand_total)
        if doc.allowances:
            self.money(monetary, "cbc:AllowanceTotalAmount", totals.allowance_total)
        if totals.prepaid:
            self.money(monetary, "cbc:PrepaidAmount", totals.prepaid)
        self.money(monetary, "cbc:PayableAmount", totals.due)
        # The lines are most of the document (13 elements each): lxml called directly, tags qualified once.
        tag, sub, currency = self.sub.qualified, etree.SubElement, doc.currency
        line_tag, id_tag = tag("cac:CreditNoteLine" if credit else "cac:InvoiceLine"), tag("cbc:ID")
        quantity_tag = tag("cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity")
        amount_tag, item_tag, name_tag = tag("cbc:LineExtensionAmount"), tag("cac:Item"), tag("cbc:Name")
        price_tag, price_amount_tag = tag("cac:Price"), tag("cbc:PriceAmount")
        for line in doc.lines:
            element = sub(root, line_tag)
            sub(element, id_tag).text = line.id
            sub(element, quantity_tag, unitCode=line.unit_code).text = number(line.quantity)
            sub(element, amount_tag, currencyID=currency).text = amount(line.net_amount, currency)
            item = sub(element, item_tag)
            sub(item, name_tag).text = line.description
            self.category(item, "cac:ClassifiedTaxCategory", line.vat_category, line.vat_rate)
            sub(sub(element, price_tag), price_amount_tag, currencyID=currency).text = number(line.price)
        return root


def render(doc: Document, *, peppol: bool = False) -> bytes:
    """UBL bytes: XRechnung 3.0 by default, Peppol BIS Billing 3.0 when asked."""
    root = _Builder(doc, xrechnung=not peppol).render(PEPPOL if peppol else XRECHNUNG)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
