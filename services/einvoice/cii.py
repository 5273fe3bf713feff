"""A Document -> UN/CEFACT Cross Industry Invoice (CII D16B), as Factur-X EN 16931 or XRechnung 3.0 CII.

Built with lxml element by element (text is escaped by the library, never concatenated), in the
element order the Factur-X XSD demands.
"""
from __future__ import annotations

import datetime as dt
from copy import deepcopy
from decimal import Decimal

from lxml import etree

from .elements import Elements
from .model import Address, Document, Party, VatCategory, round_money

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NSMAP = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}

EN16931 = "urn:cen.eu:en16931:2017"
XRECHNUNG = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
PEPPOL_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


def amount(value: Decimal, currency: str) -> str:
    return format(round_money(value, currency), "f")


def number(value: Decimal) -> str:
    """Quantities, prices and rates as plain decimals: 7.5000 -> '7.5', 10 -> '10'."""
    text = format(Decimal(value).normalize(), "f")
    return text if text != "-0" else "0"


class _Builder:
    sub = Elements(NSMAP)
    optional = sub.optional

    def __init__(self, doc: Document):
        self.doc = doc

    def money(self, value: Decimal) -> str:
        return amount(value, self.doc.currency)

    def date(self, parent, tag: str, value: dt.date, qualified: bool = False):
        wrapper = self.sub(parent, tag)
        self.sub(wrapper, "qdt:DateTimeString" if qualified else "udt:DateTimeString", value.strftime("%Y%m%d"), format="102")

    def tax(self, parent, tag: str, category: VatCategory, rate: Decimal):
        element = self.sub(parent, tag)
        self.sub(element, "ram:TypeCode", "VAT")
        self.sub(element, "ram:CategoryCode", category.value)
        if category is not VatCategory.OUTSIDE_SCOPE:
            self.sub(element, "ram:RateApplicablePercent", number(rate))
        return element

    def address(self, parent, address: Address):
        element = self.sub(parent, "ram:PostalTradeAddress")
        self.optional(element, "ram:PostcodeCode", address.postcode)
        for tag, text in zip(("ram:LineOne", "ram:LineTwo", "ram:LineThree"), address.lines):
            if text:
                self.sub(element, tag, text)
        self.optional(element, "ram:CityName", address.city)
        self.sub(element, "ram:CountryID", address.country)
        self.optional(element, "ram:CountrySubDivisionName", address.subdivision)

    def party(self, parent, tag: str, party: Party, *, seller: bool):
        element = self.sub(parent, tag)
        self.sub(element, "ram:Name", party.name)
        if party.registration_id:
            legal = self.sub(element, "ram:SpecifiedLegalOrganization")
            self.sub(legal, "ram:ID", party.registration_id)
        contact = party.contact
        if contact.name or contact.phone or contact.email:
            defined = self.sub(element, "ram:DefinedTradeContact")
            self.optional(defined, "ram:PersonName", contact.name)
            if contact.phone:
                self.sub(self.sub(defined, "ram:TelephoneUniversalCommunication"), "ram:CompleteNumber", contact.phone)
            if contact.email:
                self.sub(self.sub(defined, "ram:EmailURIUniversalCommunication"), "ram:URIID", contact.email)
        self.address(element, party.address)
        if party.electronic_address:
            uri = self.sub(element, "ram:URIUniversalCommunication")
            self.sub(uri, "ram:URIID", party.electronic_address.value, schemeID=party.electronic_address.scheme)
        if party.vat_id and self.doc.carries_vat_ids:
            self.sub(self.sub(element, "ram:SpecifiedTaxRegistration"), "ram:ID", party.vat_id, schemeID="VA")
        if seller and party.tax_number:
            self.sub(self.sub(element, "ram:SpecifiedTaxRegistration"), "ram:ID", party.tax_number, schemeID="FC")

    def render(self, guideline: str, business_process: str | None) -> etree._Element:
        doc = self.doc
        root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NSMAP)
        context = self.sub(root, "rsm:ExchangedDocumentContext")
        if business_process:
            self.sub(self.sub(context, "ram:BusinessProcessSpecifiedDocumentContextParameter"), "ram:ID", business_process)
        self.sub(self.sub(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", guideline)

        header = self.sub(root, "rsm:ExchangedDocument")
        self.sub(header, "ram:ID", doc.number)
        self.sub(header, "ram:TypeCode", doc.type.value)
        self.date(header, "ram:IssueDateTime", doc.issue_date)
        for note in doc.notes:
            self.sub(self.sub(header, "ram:IncludedNote"), "ram:Content", note)

        transaction = self.sub(root, "rsm:SupplyChainTradeTransaction")
        # The lines are most of the document (18 elements each): lxml called directly, tags qualified once,
        # and each line's tax element copied (in C) from one built per category and rate.
        tag, sub, currency, taxes = self.sub.qualified, etree.SubElement, doc.currency, {}
        scratch = etree.Element(f"{{{RSM}}}Scratch", nsmap=NSMAP)  # where those are built, with our prefixes
        (item_tag, document_tag, line_id_tag, product_tag, name_tag, agreement_tag, price_tag, charge_tag, delivery_tag,
         quantity_tag, settlement_tag, summation_tag, total_tag) = (tag("ram:" + name) for name in (
            "IncludedSupplyChainTradeLineItem", "AssociatedDocumentLineDocument", "LineID", "SpecifiedTradeProduct",
            "Name", "SpecifiedLineTradeAgreement", "NetPriceProductTradePrice", "ChargeAmount",
            "SpecifiedLineTradeDelivery", "BilledQuantity", "SpecifiedLineTradeSettlement",
            "SpecifiedTradeSettlementLineMonetarySummation", "LineTotalAmount"))
        for line in doc.lines:
            item = sub(transaction, item_tag)
            sub(sub(item, document_tag), line_id_tag).text = line.id
            sub(sub(item, product_tag), name_tag).text = line.description
            sub(sub(sub(item, agreement_tag), price_tag), charge_tag).text = number(line.price)
            sub(sub(item, delivery_tag), quantity_tag, unitCode=line.unit_code).text = number(line.quantity)
            settlement = sub(item, settlement_tag)
            key = (line.vat_category, line.vat_rate)
            if key not in taxes:
                taxes[key] = self.tax(scratch, "ram:ApplicableTradeTax", line.vat_category, line.vat_rate)
            settlement.append(deepcopy(taxes[key]))
            sub(sub(settlement, summation_tag), total_tag).text = amount(line.net_amount, currency)

        agreement = self.sub(transaction, "ram:ApplicableHeaderTradeAgreement")
        self.optional(agreement, "ram:BuyerReference", doc.buyer_reference)
        self.party(agreement, "ram:SellerTradeParty", doc.seller, seller=True)
        self.party(agreement, "ram:BuyerTradeParty", doc.buyer, seller=False)

        delivery = self.sub(transaction, "ram:ApplicableHeaderTradeDelivery")
        if VatCategory.INTRA_COMMUNITY in doc.categories:
            # BR-IC-12: the deliver-to country; the buyer's address (XRechnung's BR-DE-10/11 then want
            # its city and postcode too).
            ship_to = self.sub(delivery, "ram:ShipToTradeParty")
            self.address(ship_to, doc.buyer.address)
        if doc.delivery_date:
            event = self.sub(delivery, "ram:ActualDeliverySupplyChainEvent")
            self.date(event, "ram:OccurrenceDateTime", doc.delivery_date)

        settlement = self.sub(transaction, "ram:ApplicableHeaderTradeSettlement")
        if doc.payment and doc.payment.remittance:
            self.sub(settlement, "ram:PaymentReference", doc.payment.remittance)
        self.sub(settlement, "ram:InvoiceCurrencyCode", doc.currency)
        if doc.payment:
            means = self.sub(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
            self.sub(means, "ram:TypeCode", doc.payment.means_code)
            account = self.sub(means, "ram:PayeePartyCreditorFinancialAccount")
            self.sub(account, "ram:IBANID", doc.payment.iban)
            self.optional(account, "ram:AccountName", doc.payment.account_name)
            if doc.payment.bic:
                self.sub(self.sub(means, "ram:PayeeSpecifiedCreditorFinancialInstitution"), "ram:BICID", doc.payment.bic)
        for group in doc.breakdown:
            tax = self.sub(settlement, "ram:ApplicableTradeTax")
            self.sub(tax, "ram:CalculatedAmount", self.money(group.tax))
            self.sub(tax, "ram:TypeCode", "VAT")
            self.optional(tax, "ram:ExemptionReason", group.exemption_reason)
            self.sub(tax, "ram:BasisAmount", self.money(group.basis))
            self.sub(tax, "ram:CategoryCode", group.category.value)
            self.optional(tax, "ram:ExemptionReasonCode", group.exemption_code)
            self.sub(tax, "ram:RateApplicablePercent", number(group.rate))
        if doc.period_start or doc.period_end:
            period = self.sub(settlement, "ram:BillingSpecifiedPeriod")
            if doc.period_start:
                self.date(period, "ram:StartDateTime", doc.period_start)
            if doc.period_end:
                self.date(period, "ram:EndDateTime", doc.period_end)
        for allowance in doc.allowances:
            charge = self.sub(settlement, "ram:SpecifiedTradeAllowanceCharge")
            self.sub(self.sub(charge, "ram:ChargeIndicator"), "udt:Indicator", "false")
            self.sub(charge, "ram:ActualAmount", self.money(allowance.amount))
            self.sub(charge, "ram:ReasonCode", "95")
            self.sub(charge, "ram:Reason", allowance.reason)
            self.tax(charge, "ram:CategoryTradeTax", allowance.vat_category, allowance.vat_rate)
        if doc.payment_terms or doc.due_date:
            terms = self.sub(settlement, "ram:SpecifiedTradePaymentTerms")
            self.optional(terms, "ram:Description", doc.payment_terms)
            if doc.due_date:
                self.date(terms, "ram:DueDateDateTime", doc.due_date)
        totals = doc.totals
        summation = self.sub(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
        self.sub(summation, "ram:LineTotalAmount", self.money(totals.line_total))
        if doc.allowances:
            self.sub(summation, "ram:AllowanceTotalAmount", self.money(totals.allowance_total))
        self.sub(summation, "ram:TaxBasisTotalAmount", self.money(totals.tax_basis))
        self.sub(summation, "ram:TaxTotalAmount", self.money(totals.tax_total), currencyID=doc.currency)
        self.sub(summation, "ram:GrandTotalAmount", self.money(totals.grand_total))
        if totals.prepaid:
            self.sub(summation, "ram:TotalPrepaidAmount", self.money(totals.prepaid))
        self.sub(summation, "ram:DuePayableAmount", self.money(totals.due))
        if doc.corrects:
            reference = self.sub(settlement, "ram:InvoiceReferencedDocument")
            self.sub(reference, "ram:IssuerAssignedID", doc.corrects.number)
            if doc.corrects.issue_date:
                self.date(reference, "ram:FormattedIssueDateTime", doc.corrects.issue_date, qualified=True)
        return root


def render(doc: Document, *, xrechnung: bool = False) -> bytes:
    """CII bytes (UTF-8, with declaration): Factur-X EN 16931 by default, XRechnung 3.0 when asked."""
    guideline = XRECHNUNG if xrechnung else EN16931
    root = _Builder(doc).render(guideline, PEPPOL_PROCESS if xrechnung else None)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
