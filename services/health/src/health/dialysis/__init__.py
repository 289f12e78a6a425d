"""Haemodialysis (血液透析): patients, sessions and the county subsidy (DOMAIN §4.3)."""
