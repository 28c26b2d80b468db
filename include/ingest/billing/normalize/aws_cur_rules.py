"""How each AWS ``lineItem/LineItemType`` becomes FOCUS 1.2 (billing-formats.md §6.1).

=======================  ==========  ================================  ==========  =============
LineItemType             Category    EffectiveCost                     ListCost    ContractedCost
=======================  ==========  ================================  ==========  =============
Usage                    Usage       BilledCost                        public      Unblended
DiscountedUsage          Usage       reservation/EffectiveCost         public      Unblended
SavingsPlanCoveredUsage  Usage       savingsPlan/SavingsPlanEffective  public      Unblended
                                     Cost
SavingsPlanNegation      Usage       0                                 0           0
*Discount (4 kinds)      Usage       BilledCost                        0           BilledCost
Fee                      Purchase    0 with a ReservationARN (the RI   public      BilledCost
                                     upfront fee is amortized into
                                     DiscountedUsage), else BilledCost
RIFee                    Purchase    UnusedAmortizedUpfrontFeeFor      BilledCost  BilledCost
                                     BillingPeriod + UnusedRecurring
                                     Fee (a blank part counts as 0)
SavingsPlanUpfrontFee    Purchase    0                                 BilledCost  BilledCost
SavingsPlanRecurringFee  Purchase    TotalCommitmentToDate -           BilledCost  BilledCost
                                     UsedCommitment
Tax                      Tax         BilledCost                        BilledCost  BilledCost
Credit                   Credit      BilledCost                        BilledCost  BilledCost
Refund                   Adjustment  BilledCost                        BilledCost  BilledCost
=======================  ==========  ================================  ==========  =============

* BilledCost = ``lineItem/NetUnblendedCost`` when present, else ``lineItem/UnblendedCost``.
* "public" = ``pricing/publicOnDemandCost``, else ``publicOnDemandRate x UsageAmount``,
  else BilledCost. AWS's own public cost comes first because AWS rounds every cost at
  ~10 places: in the real sample 514 of 1,281 rows have ``rate x amount !=
  publicOnDemandCost`` by that rounding alone, and BilledCost is rounded the same way.
* Negation and discount rows carry no list price and no consumption, so they get
  ListCost 0 and no ConsumedQuantity (FOCUS has no separate negation rows; keeping
  AWS's rows -- never dropping one -- and zeroing what they would double count keeps
  Σ BilledCost equal to the invoice).
* ChargeFrequency: ``Usage-Based`` for the Usage category; Fee and Tax follow
  ``bill/BillType`` (``Anniversary`` -> Recurring, else One-Time).
* PricingCategory ``usage``: ``Dynamic`` for Spot (UsageType contains ``SpotUsage``
  or ``pricing/term`` is ``Spot``), else ``Standard``; ``fee``: ``Committed`` with a
  ReservationARN, else ``Standard``; Tax/Credit/Refund: NULL.
* ChargeClass = ``Correction`` on Credit/Refund rows whose charge period starts before
  the billing period, i.e. they correct an already invoiced period.
* A LineItemType not in this table is quarantined, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from include.ingest.billing.normalize.arrow_parse import Distinct


@dataclass(frozen=True)
class LineItemRule:
    category: str  # FOCUS ChargeCategory
    frequency: str | None  # FOCUS ChargeFrequency; None = from bill/BillType
    effective: str  # billed | zero | sp_effective | ri_effective | sp_unused | ri_unused | fee
    list_cost: str  # public | zero | billed
    contracted: str  # unblended | zero | billed
    pricing: str | None  # usage | Committed | fee | None (NULL)
    consumed: bool  # fill ConsumedQuantity / ConsumedUnit
    priced: bool  # fill PricingQuantity / PricingUnit / SkuId / SkuPriceId
    unit_prices: bool  # fill ListUnitPrice / ContractedUnitPrice


_U, _P = "Usage", "Purchase"
_DISCOUNT = LineItemRule(_U, "Usage-Based", "billed", "zero", "billed", "usage", False, True, False)

LINE_ITEM_RULES: dict[str, LineItemRule] = {
    "Usage": LineItemRule(_U, "Usage-Based", "billed", "public", "unblended", "usage", True, True, True),
    "DiscountedUsage": LineItemRule(_U, "Usage-Based", "ri_effective", "public", "unblended", "Committed", True, True, True),
    "SavingsPlanCoveredUsage": LineItemRule(_U, "Usage-Based", "sp_effective", "public", "unblended", "Committed", True, True, True),
    "SavingsPlanNegation": LineItemRule(_U, "Usage-Based", "zero", "zero", "zero", "Committed", False, True, False),
    "BundledDiscount": _DISCOUNT,
    "Discount": _DISCOUNT,
    "PrivateRateDiscount": _DISCOUNT,
    "EdpDiscount": _DISCOUNT,
    "Fee": LineItemRule(_P, None, "fee", "public", "billed", "fee", False, True, True),
    "RIFee": LineItemRule(_P, "Recurring", "ri_unused", "billed", "billed", "Committed", False, True, False),
    "SavingsPlanUpfrontFee": LineItemRule(_P, "One-Time", "zero", "billed", "billed", "Committed", False, True, False),
    "SavingsPlanRecurringFee": LineItemRule(_P, "Recurring", "sp_unused", "billed", "billed", "Committed", False, True, False),
    "Tax": LineItemRule("Tax", None, "billed", "billed", "billed", None, False, False, False),
    "Credit": LineItemRule("Credit", "One-Time", "billed", "billed", "billed", None, False, False, False),
    "Refund": LineItemRule("Adjustment", "One-Time", "billed", "billed", "billed", None, False, False, False),
}  # fmt: skip


def rule_value(line_item_type: str | None, attr: str) -> object:
    """``LINE_ITEM_RULES[t].<attr>``, or ``None`` for an unknown/missing type."""
    rule = LINE_ITEM_RULES.get(line_item_type) if line_item_type is not None else None
    return None if rule is None else getattr(rule, attr)


class RuleColumns:
    """Per-row views of ``LINE_ITEM_RULES``, computed per distinct LineItemType."""

    def __init__(self, line_type: pa.Array) -> None:
        self._d = Distinct(line_type)

    def value(self, attr: str) -> pa.Array:
        return self._d.map(lambda t: rule_value(t, attr), pa.string())

    def flag(self, attr: str) -> pa.Array:
        return self._d.mask(lambda t: bool(rule_value(t, attr)))

    def is_(self, attr: str, expected: str) -> pa.Array:
        return self._d.mask(lambda t: rule_value(t, attr) == expected)

    def type_is(self, *types: str) -> pa.Array:
        return self._d.mask(lambda t: t in types)
