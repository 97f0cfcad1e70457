"""Commissions: the facts they are priced on, accrual, reversal, settlement and the what-if replay."""
