"""Array layouts shared by the kernels: field indexes of the simulation state.

One simulation is a tuple ``(book, meta, acct, trades, fills, events)`` of float64 / int64
arrays (numba handles a tuple of arrays with no allocation per bar); these constants name their
columns. See :mod:`engine.fast.broker` for what each holds.
"""

from __future__ import annotations

# ---------------------------------------------------------------- order book (float64 rows)
O_TYPE, O_SIDE, O_PRICE, O_SIZE, O_OCO, O_OCOLIVE = 0, 1, 2, 3, 4, 5
O_STATUS, O_REASON, O_BAR, O_REF, O_RESIZED = 6, 7, 8, 9, 10
O_RSTOP, O_RDIST, O_BUDGET = 11, 12, 13  # risk of a buy: stop price / distance, budget ($)
O_RATR = 14  # an ATR stop's distance from the fill, dollars (0: none)
O_FIELDS = 15
MARKET, LIMIT, STOP = 0, 1, 2
SUBMITTED, ACCEPTED, COMPLETED, CANCELLED, MARGIN = 1, 2, 3, 4, 5
BOOK_CAP = 16  # orders alive at once for the signal strategies (they hold at most two)

# ---------------------------------------------------------------- meta (int64)
M_NB, M_NEXTREF, M_NTRADES, M_NFILLS, M_NEVENTS, M_OVERFLOW = 0, 1, 2, 3, 4, 5
M_FIELDS = 6

# ---------------------------------------------------------------- account + open round trip
A_CASH, A_POS, A_PPRICE = 0, 1, 2
# T_SIDE: the open round trip's side (its first fill's: 1 long, -1 short)
T_POS, T_BUYSIZE, T_BUYVAL, T_SELLSIZE, T_SELLVAL, T_COMM, T_ENTRY, T_ACTIVE, T_SIDE = (
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
)
# borrow fee (backtrader's credit interest on shorts): today's day number, the day of the last
# charge or execution (Position.datetime), the fees charged since the last cover (d_credit)
A_TODAY, A_PDAY, A_CREDIT = 12, 13, 14
A_FIELDS = 15

# ---------------------------------------------------------------- trades / fills / events rows
R_PNL, R_RET, R_BARS, R_COMM, R_OPEN, R_SIDE = 0, 1, 2, 3, 4, 5
R_FIELDS = 6
F_BAR, F_SIDE, F_SIZE, F_PRICE, F_VALUE, F_COMM, F_TYPE, F_REASON, F_RESIZED = (
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
)
F_RSTOP, F_BUDGET = 9, 10  # engine.result FILL_COLUMNS risk_stop, risk_budget
F_FIELDS = 11
E_REF, E_STATUS, E_SIDE, E_SIZE, E_PRICE, E_REASON = 0, 1, 2, 3, 4, 5
E_FIELDS = 6

# ---------------------------------------------------------------- costs vector
C_PER_SHARE, C_MIN, C_MAX_PCT, C_SLIP = 0, 1, 2, 3
# sizing (engine.sizing): kind code (KIND_CODES), its value, the tranche split code
C_SIZING, C_SIZE_VALUE, C_SPLIT = 4, 5, 6
C_BORROW = 7  # annual borrow fee on shorts (Costs.borrow_fee)
PX_DAY = 5  # px row: the session's day number (days since 1970-01-01), for the borrow fee
SZ_ALL_IN, SZ_FRACTION, SZ_FIXED, SZ_SHARES, SZ_RISK = 0, 1, 2, 3, 4
SPLIT_EQUAL, SPLIT_SHARES = 0, 1

EPS_TRADE = 1e-9  # engine.analysis.trades._EPS
FIT_TOL = 1e-9  # HonestBroker / affordable_size tolerance
