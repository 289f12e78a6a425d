"""Family doctors (家庭医生签约服务): contracts, follow-ups (随访) and 履约 (DOMAIN §4.3)."""
