"""`countynet verify`: the policy checked offline, by Batfish, and (in the lab) with real packets."""
