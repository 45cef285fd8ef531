"""English dates as the site writes them elsewhere (2026-12-10 14:15), not Django's American
short forms: "12/10/2026" reads as October to most who read English here, and a sentence
ending on "2:15 p.m." ended "p.m.." (a message's expiry, the settlement's dates)."""

SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
