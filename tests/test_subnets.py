"""subnet_of against the standard library's ipaddress, for every IPv4 prefix length and IPv6."""

import ipaddress
import random

import pandas as pd
import pytest

from graphlinker.ingest.usage import subnet_of


@pytest.mark.parametrize("prefix_v4", [0, 8, 16, 23, 24, 31, 32])
def test_subnets_are_ipaddress_networks(prefix_v4):
    rng = random.Random(prefix_v4)
    ips = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(500)]
    ips += ["0.0.0.0", "255.255.255.255", "::1", "2001:db8:85a3::8a2e:370:7334"]
    got = subnet_of(pd.Series([*ips, None], dtype=object), prefix_v4, 48)
    want = [str(ipaddress.ip_network(f"{ip}/{48 if ':' in ip else prefix_v4}", strict=False)) for ip in ips]
    assert list(got.iloc[:-1]) == want
    assert pd.isna(got.iloc[-1])
