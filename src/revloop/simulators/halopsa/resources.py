"""The HaloPSA resources the simulator serves: route, list envelope key (or bare array), schema, the
fields a record gets when a seed or a POST leaves them out, and which fields each list item carries.

Defaults follow Halo's habits: unset dates are ``1900-01-01T00:00:00``, integer integration ids are
``-1``, doubles are ``Decimal`` (``0.0`` on the wire), strings are ``""``. The type of each default
matches the field's type in the SPEC schema (``components.schemas.<schema>``); ``who`` on actions and
``fault_id`` on expenses are live fields that the saved spec lacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .wire import EMPTY_DATE

D0 = Decimal("0.0")
D1 = Decimal("1.0")
E = EMPTY_DATE


@dataclass(frozen=True)
class Resource:
    name: str  # lower-case route segment: /api/<name>
    title: str  # the spelling in SPEC (/api/Client)
    list_key: str | None  # envelope key; None = bare JSON array
    schema: str
    defaults: dict[str, Any]
    stamp: str | None = None  # last-updated field, set on every write
    created: str | None = None  # creation stamp, set on create
    dated: tuple[str, ...] = ()  # business dates that default to "now" on create (ticket opened, ...)
    paged: bool = True  # honours pageinate/page_size/page_no
    counted: bool = True  # has `count` (default 50 when not paginating)
    writable: bool = True
    deletable: bool = True
    required: tuple[str, ...] = ()
    scope: str | None = None  # read:<scope>/edit:<scope>; None = any valid token
    list_fields: tuple[str, ...] | None = None  # lean list shape; None = everything but detail_only
    detail_only: frozenset[str] = frozenset()  # nested/heavy fields left out of list items
    default_desc: bool = True  # default list order: id descending
    id_is_uuid: bool = False
    float_id_fields: tuple[str, ...] = ()  # ints emitted as 21.0
    extra: dict[str, Any] = field(default_factory=dict)

    def sparse(self, rec: dict[str, Any]) -> dict[str, Any]:
        """The record without the fields that equal their default (same type, value and digits)."""
        defaults = self.defaults
        out = {"id": rec["id"]}
        for key, value in rec.items():
            if key in defaults:
                default = defaults[key]
                if (
                    value.__class__ is default.__class__
                    and value == default
                    and (value.__class__ is not Decimal or str(value) == str(default))
                ):
                    continue
            out[key] = value
        return out

    @property
    def date_fields(self) -> frozenset[str]:
        return frozenset(k for k, v in self.defaults.items() if v == EMPTY_DATE)

    @property
    def double_fields(self) -> frozenset[str]:
        return frozenset(k for k, v in self.defaults.items() if isinstance(v, Decimal))

    @property
    def int_fields(self) -> frozenset[str]:
        return frozenset(
            k for k, v in self.defaults.items() if isinstance(v, int) and not isinstance(v, bool)
        )


CLIENT = {
    "id": 0,
    "name": "",
    "inactive": False,
    "toplevel_id": 1,
    "toplevel_name": "Top Level",
    "ref": "",
    "is_vip": False,
    "colour": "",
    "notes": "",
    "customertype": 0,
    "datecreated": E,
    "alastupdate": E,
    "hourlyrate": D0,
    "dontinvoice": False,
    "invoiceyes": True,
    "paymentterms": 30,
    "due_date_type": 0,
    "billinggroup": 0,
    "billingtemplate_id": 0,
    "default_contract": 0,
    "defaultcontractoverride": 0,
    "allowallchargerates": True,
    "taxable": True,
    "tax_number": "",
    "item_tax_code": 0,
    "service_tax_code": 0,
    "prepay_tax_code": 0,
    "contract_tax_code": 0,
    "default_currency_code": -1,
    "currencyisocode": "",
    "client_to_invoice": 0,
    "client_to_invoice_recurring": 0,
    "prepaytotal": D0,
    "prepayused": D0,
    "prepaybalance": D0,
    "prepayasamount": False,
    "prepayrecurringcharge": D0,
    "prepayrecurringhours": D0,
    "prepayrecurringchargenextdate": E,
    "accountsid": "",
    "xeroid": "",
    "xero_tenant_id": "",
    "xerodetails_id": 0,
    "xero_tenant_name": "",
    "isarchived_xero": False,
    "excludefrominvoicesync": False,
    "accountsemailaddress": "",
    "accountsfirstname": "",
    "accountslastname": "",
    "autotaskid": -1,
    "connectwiseid": -1,
    "ninjarmmid": -1,
    "datto_id": "",
    "hubspot_id": "",
    "itglue_id": "",
    "billingplans": [],
    "chargerates": [],
    "overriding_rates": [],
    "prepayhistory": [],
    "periods": [],
    "customfields": [],
}
CLIENT_LIST = (
    "id",
    "name",
    "toplevel_id",
    "toplevel_name",
    "inactive",
    "colour",
    "is_vip",
    "ref",
    "accountsid",
    "xeroid",
    "excludefrominvoicesync",
    "taxable",
    "prepaybalance",
)

SITE = {
    "id": 0,
    "name": "",
    "client_id": 0,
    "client_name": "",
    "inactive": False,
    "timezone": "",
    "isinvoicesite": False,
    "accountsid": "",
    "accountsemailaddress": "",
    "slastupdate": E,
    "ref": "",
    "sla_id": 0,
    "maincontact_id": 0,
    "maincontact_name": "",
    "customfields": [],
}

AGENT = {
    "id": 0,
    "name": "",
    "email": "",
    "firstname": "",
    "surname": "",
    "initials": "",
    "isdisabled": False,
    "is_agent": True,
    "isapiagent": False,
    "team": "",
    "costprice": D0,
    "chargerate": 0,
    "travelrate": 0,
    "workday_id": 1,
    "workday_name": "Standard Hours",
    "workday_timezone": "",
    "workhour_start": D0,
    "workhour_end": D0,
    "last_modified": E,
    "teams": [],
    "departments": [],
    "chargerates": [],
}

TICKET = {
    "id": 0,
    "summary": "",
    "details": "",
    "tickettype_id": 1,
    "tickettype_name": "Incident",
    "status_id": 1,
    "status_name": "New",
    "priority_id": 0,
    "sla_id": 0,
    "client_id": 0,
    "client_name": "",
    "site_id": 0,
    "site_name": "",
    "user_id": 0,
    "user_name": "",
    "agent_id": 1,
    "team": "",
    "category_1": "",
    "category_2": "",
    "category_3": "",
    "category_4": "",
    "dateoccurred": E,
    "dateclosed": E,
    "datecreated": E,
    "last_update": E,
    "lastactiondate": E,
    "respondbydate": E,
    "fixbydate": E,
    "deadlinedate": E,
    "parent_id": 0,
    "child_count": 0,
    "inactive": False,
    "deleted": False,
    "onhold": False,
    "contract_id": 0,
    "contract_ref": "",
    "chargerate": 0,
    "timetaken": D0,
    "chargehours": D0,
    "nonchargehours": D0,
    "billable_time": D0,
    "nonbillable_time": D0,
    "travelhours": D0,
    "mileage": D0,
    "itemsprice": D0,
    "invoicenumber": "",
    "invoicedate": E,
    "invoicestatus": 0,
    "isbillable": True,
    "client_to_invoice_to_id": 0,
    "use": "ticket",
    "ticketage": D0,
    "ticket_tags": "",
    "merged_into_id": 0,
}

ACTION = {
    "id": 0,
    "ticket_id": 0,
    "who": "",
    "who_agentid": 0,
    "who_type": 1,
    "outcome": "",
    "outcome_id": 0,
    "note": "",
    "hiddenfromuser": False,
    "important": False,
    "datetime": E,
    "actiondatecreated": E,
    "actionarrivaldate": E,
    "actioncompletiondate": E,
    "last_updated": E,
    "timetaken": D0,
    "timetakendays": D0,
    "nonbilltime": D0,
    "actionchargehours": D0,
    "actionnonchargehours": D0,
    "actionprepayhours": D0,
    "traveltime": D0,
    "mileage": D0,
    "actionchargeamount": D0,
    "actionnonchargeamount": D0,
    "actionprepayamount": D0,
    "actiontravelamount": D0,
    "actionmileageamount": D0,
    "chargerate": 0,
    "travel_chargerate": 0,
    "actioncontractid": 0,
    "action_contract_id": 0,
    "action_contract_ref": "",
    "actionbillingplanid": 0,
    "actisbillable": True,
    "actisreadyforprocessing": False,
    "actreviewed": False,
    "actioninvoicenumber": "",
    "action_invoice_line_id": 0,
    "invoice_id": 0,
    "externalinvoicenumber": "",
    "actiontravelinvoicenumber": "",
    "actionmileageinvoicenumber": "",
    "isbillingaction": False,
    "actionby_agent_id": 0,
    "actionby_application_id": "",
}

CONTRACT = {
    "id": 0,
    "ref": "",
    "client_id": 0,
    "client_name": "",
    "site_id": 0,
    "site_name": "",
    "contracttype": 0,
    "contracttype_name": "",
    "status": 1,
    "contract_status": "Active",
    "active": True,
    "started": True,
    "expired": False,
    "last_modified": E,
    "start_date": E,
    "end_date": E,
    "termmonths": 12,
    "rollingcontract": False,
    "endtype": 0,
    "previouscontract": 0,
    "billingperiod": 0,
    "billing_period_string": "",
    "periodchargeamount": D0,
    "costperperiod": D0,
    "periodicinvoicenextdate": E,
    "next_invoice_date": E,
    "numberofunitsfree": D0,
    "chargehoursperperiod": D0,
    "chargerollover": False,
    "allowfixedprice": False,
    "allowpyg": True,
    "allowprepay": False,
    "dontinvoice": False,
    "contract_prepaytotal": D0,
    "contract_prepaybalance": D0,
    "unmatchedcombinations": 0,
    "outofhoursmultiplier": D1,
    "chargeratemultiplier": D1,
    "billingplans": [],
    "periods": [],
    "overriding_rates": [],
}

CHARGE_RATE = {
    "id": 0,
    "area": 0,
    "contract_id": 0,
    "charge_id": 0,
    "org": 0,
    "startdate": E,
    "expirydate": E,
    "current": True,
    "rate": D0,
    "current_rate": D0,
    "rateoverride": D0,
    "minimum": D0,
    "increment": D0,
    "round": 0,
    "oohmultiplier": D1,
    "holidaymultiplier": D1,
    "weekendmultiplier": D1,
    "contractmultiplier": D1,
    "surcharge": False,
    "override_surcharge": False,
    "useagentworkinghours": False,
    "use_budget_rate": False,
    "use_for_travel": False,
    "use_for_mileage": False,
    "travel_surchargeid": 0,
}

LOOKUP = {
    "id": 0,
    "lookupid": 0,
    "name": "",
    "value2": "",
    "value3": "",
    "value4": "",
    "value5": "",
    "value6": "",
    "value7": "",
    "inactive": False,
    "sequence": 0,
    "linked_item": "",
    "xero_tenant_name": "",
}

INVOICE_LINE = {
    "id": 0,
    "ihid": 0,
    "item_code": "",
    "_itemid": 0,
    "item_shortdescription": "",
    "item_longdescription": "",
    "qty_order": D1,
    "unit_price": D0,
    "unit_cost": D0,
    "net_amount": D0,
    "tax_amount": D0,
    "tax_rate": D0,
    "tax_code": "",
    "nominal_code": "",
    "contract_id": 0,
    "ticket_id": 0,
    "recurring_invoice_id": 0,
    "recurring_invoice_line_id": 0,
    "prepay_id": 0,
    "asset_id": 0,
    "actioncode": 0,
    "lineactiondate": E,
    "startdate": E,
    "enddate": E,
}

INVOICE = {
    "id": 0,
    "invoicenumber": "",
    "thirdpartyinvoicenumber": "",
    "reference": "",
    "client_id": 0,
    "client_name": "",
    "sitenumber": 0,
    "site_name": "",
    "contract_id": 0,
    "contract_ref": "",
    "ticket_id": 0,
    "invoice_date": E,
    "duedate": E,
    "datesent": E,
    "datepaid": E,
    "date_created": E,
    "last_modified": E,
    "last_synced": E,
    "period_start_date": E,
    "period_end_date": E,
    "total": D0,
    "revenue": D0,
    "tax_total": D0,
    "amountpaid": D0,
    "amountdue": D0,
    "currency_code": -1,
    "paymentstatus": 0,
    "posted": False,
    "dateposted": E,
    "voided": False,
    "invoicetype": 0,
    "accountsid": "",
    "xeroid": "",
    "xero_tenant_id": "",
    "xero_status": "",
    "recurring_invoice_id": 0,
    "is_recurring_invoice": False,
    "lines": [],
}

RECURRING_INVOICE = {
    **INVOICE,
    "is_recurring_invoice": True,
    "schedule_id": 0,
    "nextcreationdate": E,
    "lastcreated": E,
    "period": 1,
    "period_type": 0,
    "startdate": E,
    "enddate": E,
}

ITEM = {
    "id": 0,
    "name": "",
    "description": "",
    "internalreference": "",
    "externalreference": "",
    "baseprice": D0,
    "costprice": D0,
    "recurringprice": D0,
    "recurringcost": D0,
    "isrecurringitem": False,
    "iscontractitem": False,
    "dontinvoice": False,
    "taxcode": 0,
    "taxcode_name": "",
    "nominalcode": "",
    "accountsid": "",
    "xero_tenant_id": "",
    "supplier_id": 0,
    "status": 0,
    "datecreated": E,
    "lastmodified": E,
    "third_party_id": "",
    "inactive": False,
}

ASSET = {
    "id": 0,
    "inventory_number": "",
    "key_field": "",
    "client_id": 0,
    "client_name": "",
    "site_id": 0,
    "site_name": "",
    "assettype_id": 0,
    "assettype_name": "",
    "inactive": False,
    "contract_id": 0,
    "contract_ref": "",
    "contract_value": D0,
    "item_id": 0,
    "warranty_end": E,
    "dlastupdate": E,
    "fields": [],
}

QUOTE = {
    "id": 0,
    "title": "",
    "client_id": 0,
    "client_name": "",
    "site_id": 0,
    "user_id": 0,
    "ticket_id": 0,
    "status": 0,
    "date": E,
    "expiry_date": E,
    "revenue": D0,
    "tax_total": D0,
    "total": D0,
    "margin": D0,
    "approvalstate": 0,
    "salesorder_id": 0,
    "last_update_time": E,
    "third_party_number": "",
    "lines": [],
}

EXPENSE = {
    "id": 0,
    "agent_id": 0,
    "fault_id": 0,
    "actionnumber": 0,
    "description": "",
    "amount": D0,
    "lookup_id": 0,
    "type_name": "",
    "date_added": E,
    "date_reimbursed": E,
    "date_invoiced": E,
    "invoiceable": True,
    "ihid": 0,
    "client_id": 0,
    "client_name": "",
    "client_to_invoice_to_id": 0,
    "site_id": 0,
    "reviewed": False,
    "reviewed_agent_id": 0,
}

HOLIDAY = {
    "id": "",
    "holid": 0,
    "workday_id": 0,
    "date": E,
    "end_date": E,
    "allday": True,
    "name": "",
    "duration": D0,
    "holiday_type": 0,
    "agent_id": 0,
    "agent_name": "",
    "approval_status": 0,
    "isrecurring": False,
}

WORKDAY = {
    "id": 0,
    "name": "",
    "timezone": "",
    "start": E,
    "end": E,
    "alldayssame": True,
    "incmonday": True,
    "inctuesday": True,
    "incwednesday": True,
    "incthursday": True,
    "incfriday": True,
    "incsaturday": False,
    "incsunday": False,
}

PREPAY = {
    "id": 0,
    "client_id": 0,
    "client_name": "",
    "date": E,
    "hours": D0,
    "amount": D0,
    "description": "",
    "invoicedate": E,
    "invoice_id": "",
    "invoice_number": "",
    "expirydate": E,
    "expirychecked": False,
    "client_to_invoice_to_id": 0,
    "contract_id": 0,
}

STATUS = {"id": 0, "name": "", "type": 0, "sequence": 0, "colour": ""}
PRIORITY = {"id": "", "priorityid": 0, "name": "", "slaid": 0, "colour": ""}

_NESTED = frozenset(
    {
        "billingplans",
        "chargerates",
        "overriding_rates",
        "prepayhistory",
        "periods",
        "customfields",
        "lines",
        "fields",
        "teams",
        "departments",
        "details_html",
    }
)

RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        Resource(
            "client",
            "Client",
            "clients",
            "Area",
            CLIENT,
            "alastupdate",
            "datecreated",
            required=("name",),
            scope="customers",
            list_fields=CLIENT_LIST,
            detail_only=_NESTED,
        ),
        Resource(
            "site",
            "Site",
            "sites",
            "Site",
            SITE,
            "slastupdate",
            required=("client_id",),
            scope="customers",
            detail_only=_NESTED,
            float_id_fields=("client_id",),
        ),
        Resource(
            "agent",
            "Agent",
            None,
            "Uname",
            AGENT,
            "last_modified",
            paged=False,
            counted=False,
            required=("name",),
            detail_only=_NESTED,
            default_desc=False,
        ),
        Resource(
            "tickets",
            "Tickets",
            "tickets",
            "Faults",
            TICKET,
            "last_update",
            "datecreated",
            dated=("dateoccurred",),
            required=("client_id",),
            scope="tickets",
            detail_only=_NESTED,
        ),
        Resource(
            "actions",
            "Actions",
            "actions",
            "Actions",
            ACTION,
            "last_updated",
            "actiondatecreated",
            paged=True,
            required=("ticket_id",),
            scope="tickets",
            default_desc=False,
        ),
        Resource(
            "clientcontract",
            "ClientContract",
            "contracts",
            "ContractHeader",
            CONTRACT,
            "last_modified",
            required=("client_id",),
            scope="contracts",
            detail_only=_NESTED,
        ),
        Resource(
            "chargerate",
            "ChargeRate",
            None,
            "ChargeRate",
            CHARGE_RATE,
            paged=False,
            counted=False,
            writable=False,
            deletable=False,
            scope="contracts",
            default_desc=False,
        ),
        Resource(
            "lookup",
            "Lookup",
            None,
            "Lookup",
            LOOKUP,
            paged=False,
            counted=False,
            required=("name",),
            default_desc=False,
        ),
        Resource(
            "invoice",
            "Invoice",
            "invoices",
            "InvoiceHeader",
            INVOICE,
            "last_modified",
            "date_created",
            dated=("invoice_date",),
            required=("client_id",),
            scope="invoices",
            detail_only=_NESTED,
        ),
        Resource(
            "recurringinvoice",
            "RecurringInvoice",
            "invoices",
            "InvoiceHeader",
            RECURRING_INVOICE,
            "last_modified",
            "date_created",
            required=("client_id",),
            scope="invoices",
            detail_only=_NESTED,
        ),
        Resource(
            "item",
            "Item",
            "items",
            "Item",
            ITEM,
            "lastmodified",
            "datecreated",
            required=("name",),
            scope="items",
            detail_only=_NESTED,
        ),
        Resource(
            "asset",
            "Asset",
            "assets",
            "Device",
            ASSET,
            "dlastupdate",
            required=("client_id",),
            scope="assets",
            detail_only=_NESTED,
        ),
        Resource(
            "quotation",
            "Quotation",
            "quotes",
            "QuotationHeader",
            QUOTE,
            "last_update_time",
            dated=("date",),
            required=("client_id",),
            scope="quotes",
            detail_only=_NESTED,
        ),
        Resource(
            "expense",
            "Expense",
            "expenses",
            "Expense",
            EXPENSE,
            deletable=False,
            dated=("date_added",),
            required=("agent_id",),
        ),
        Resource(
            "holiday",
            "Holiday",
            None,
            "Holidays",
            HOLIDAY,
            paged=False,
            counted=False,
            required=("name",),
            default_desc=False,
            id_is_uuid=True,
        ),
        Resource(
            "workday",
            "Workday",
            None,
            "Workdays",
            WORKDAY,
            paged=False,
            counted=False,
            required=("name",),
            default_desc=False,
        ),
        Resource(
            "clientprepay",
            "ClientPrepay",
            "prepay",
            "PrepayHistory",
            PREPAY,
            dated=("date",),
            required=("client_id",),
            scope="invoices",
        ),
        Resource(
            "status",
            "Status",
            None,
            "Status",
            STATUS,
            paged=False,
            counted=False,
            required=("name",),
            default_desc=False,
        ),
        Resource(
            "priority",
            "Priority",
            None,
            "Priority",
            PRIORITY,
            paged=False,
            counted=False,
            required=("name",),
            default_desc=False,
            id_is_uuid=True,
        ),
    )
}

# seed() keys: the route name, the SPEC spelling, or the list key.
SEED_ALIASES: dict[str, str] = {}
for _r in RESOURCES.values():
    SEED_ALIASES[_r.name] = _r.name
    SEED_ALIASES[_r.title.lower()] = _r.name
    if _r.list_key and _r.list_key not in SEED_ALIASES:
        SEED_ALIASES[_r.list_key] = _r.name
SEED_ALIASES.update(
    {
        "agents": "agent",
        "chargerates": "chargerate",
        "lookups": "lookup",
        "recurringinvoices": "recurringinvoice",
        "recurring_invoices": "recurringinvoice",
        "holidays": "holiday",
        "workdays": "workday",
        "ticket": "tickets",
        "action": "actions",
        "charge_types": "lookup",
        "prepays": "clientprepay",
        "statuses": "status",
        "priorities": "priority",
    }
)

CHARGE_TYPE_LOOKUP_ID = 17  # Lookup rows with lookupid 17 are the charge types (DB: lookup fid=17)
