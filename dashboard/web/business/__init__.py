"""Settings → Business (the name, support email and logo payers see) and the logos' URLs."""
