"""Tax withheld on commission payouts: the policies a shop can choose (issue 10)."""
