"""The shared fill simulator: backtrader's ``BackBroker`` + the harness's ``HonestBroker``, compiled.

One simulation is a tuple of arrays (see :func:`new_sim`); every strategy kernel calls
:func:`broker_next` at the start of each bar, then its own ``next`` logic, which submits and
cancels orders with :func:`submit` / :func:`cancel`, then :func:`close_bar`. The rules are the
harness's (``engine.backtest.harness`` docstring), implemented the way backtrader implements them:

* **Order of a bar** (``BackBroker.next``): orders submitted on the previous bar's close are
  first checked against the cash (``check_submitted``: each is pseudo-executed at its *created*
  price, the close for a market order, its limit/stop price otherwise, on a running cash total
  and a cloned position; a negative total rejects it with ``Margin``), then every live order is
  tried once, in submission order, on this bar's open/high/low.
* **Market** orders fill at the open, slipped up (buys) or down (sells) but never beyond the
  bar's high / low. **Limit** buys fill at the open when it is at or below the limit (slipped up,
  capped at ``min(high, limit)``), else at the limit when the low reaches it; limit sells fill at
  the open when it is at or above the limit (slipped down, floored at the *limit*: backtrader
  passes the limit as the floor there), else at the limit when the high reaches it. **Stop**
  sells fill at the open slipped down (floored at the low) when the open is at or below the stop,
  else at the stop slipped down when the low reaches it.
* **Commission** ``min(max(shares * per_share, minimum), shares * price * max_pct)``.
* **Cash** after a buy: ``cash - size * price - commission``; after a sell:
  ``cash + (size * avg_price + size * (price - avg_price)) - commission`` (backtrader books the
  closed value at the average price plus the P&L, which can differ from ``size * price`` in the
  last bit, so we do the same).
* **Resizing** (``HonestBroker._fit_to_cash``): a buy whose value plus commission exceeds the
  cash by more than 1e-9 is cut to the largest whole size that fits; when not even one share
  fits the order is rejected (``Margin``).
* **OCO**: a fill (or a cancel, or a rejection) of one member cancels the members that are live
  at the broker; the group is then dissolved (backtrader's ``_ococheck``).
* **Value** at the close: ``cash + ((size * close - upnl) / 1.0 + upnl)``, with
  ``upnl = size * (close - avg_price)``, backtrader's ``_get_value`` order of operations.

The round-trip ledger follows :func:`engine.analysis.trades.build_trades` (sums in fill order)
so the trade metrics match to the last bit. Sizes are whole shares (the fast engine does not cover
``fractional=True``).
"""

from __future__ import annotations

import math

import numpy as np

from engine.fast.jit import njit
from engine.fast.layout import (
    A_CASH,
    A_CREDIT,
    A_FIELDS,
    A_PDAY,
    A_POS,
    A_PPRICE,
    A_TODAY,
    ACCEPTED,
    C_BORROW,
    C_MAX_PCT,
    C_MIN,
    C_PER_SHARE,
    C_SIZE_VALUE,
    C_SIZING,
    C_SLIP,
    CANCELLED,
    COMPLETED,
    E_FIELDS,
    E_PRICE,
    E_REASON,
    E_REF,
    E_SIDE,
    E_SIZE,
    E_STATUS,
    F_FIELDS,
    FIT_TOL,
    LIMIT,
    M_FIELDS,
    M_NB,
    M_NEVENTS,
    M_NEXTREF,
    M_OVERFLOW,
    MARGIN,
    MARKET,
    O_BAR,
    O_BUDGET,
    O_FIELDS,
    O_OCO,
    O_OCOLIVE,
    O_PRICE,
    O_RATR,
    O_RDIST,
    O_REASON,
    O_REF,
    O_RESIZED,
    O_RSTOP,
    O_SIDE,
    O_SIZE,
    O_STATUS,
    O_TYPE,
    R_FIELDS,
    SUBMITTED,
    SZ_ALL_IN,
    SZ_FIXED,
    SZ_FRACTION,
    SZ_SHARES,
)
from engine.fast.ledger import book_fill


@njit(cache=True)
def new_sim(n_bars: int, cash: float, record: bool, book_cap: int) -> tuple:
    """Fresh state for one run: (book, meta, acct, trades, fills, events).

    ``book_cap`` bounds the orders alive at once (dead ones are dropped every bar); a run that
    would exceed it, or the event / fill buffers sized from it, sets ``meta[M_OVERFLOW]`` and the
    caller raises rather than return a wrong result.
    """
    book = np.zeros((book_cap, O_FIELDS))
    meta = np.zeros(M_FIELDS, dtype=np.int64)
    meta[M_NEXTREF] = 1
    acct = np.zeros(A_FIELDS)
    acct[A_CASH] = cash
    trades = np.zeros((n_bars + 2, R_FIELDS))
    fills = np.zeros((4 * (n_bars + book_cap) if record else 0, F_FIELDS))
    events = np.zeros((4 * book_cap, E_FIELDS))
    return book, meta, acct, trades, fills, events


# ---------------------------------------------------------------- prices and sizes
@njit(cache=True)
def commission(size: float, price: float, costs: np.ndarray) -> float:
    """``RetailCommission._getcommission`` (Python ``max``/``min`` tie rules)."""
    shares = abs(size)
    if shares == 0:
        return 0.0
    fee = shares * costs[C_PER_SHARE]
    if costs[C_MIN] > fee:
        fee = costs[C_MIN]
    cap = shares * price * costs[C_MAX_PCT]
    return cap if cap < fee else fee


@njit(cache=True)
def slip_up(pmax: float, price: float, slip: float) -> float:
    """``BackBroker._slip_up`` with ``slip_match=True, slip_out=False``."""
    if slip == 0.0:
        return price
    pslip = price * (1.0 + slip)
    return pslip if pslip <= pmax else pmax


@njit(cache=True)
def slip_down(pmin: float, price: float, slip: float) -> float:
    """``BackBroker._slip_down`` with ``slip_match=True, slip_out=False``."""
    if slip == 0.0:
        return price
    pslip = price * (1.0 - slip)
    return pslip if pslip >= pmin else pmin


@njit(cache=True)
def affordable(price: float, cash: float, costs: np.ndarray) -> float:
    """``ArticleStrategy.affordable``: whole shares whose slipped cost plus commission fit ``cash``."""
    fill_price = price * (1.0 + costs[C_SLIP])
    if fill_price <= 0 or cash <= 0:
        return 0.0
    size = math.floor(cash / (fill_price + costs[C_PER_SHARE]) / 1.0) * 1.0
    while size > 0 and size * fill_price + commission(size, fill_price, costs) > cash:
        size -= 1.0
    return size if size > 0.0 else 0.0


@njit(cache=True)
def signal_size(
    close: float, value: float, cash: float, dist: float, atr_d: float, costs: np.ndarray
) -> tuple:
    """``engine.sizing.signal_size`` (whole shares): (shares asked for, shares the cash covers)."""
    cover = affordable(close, cash, costs)
    kind = int(costs[C_SIZING])
    if kind == SZ_ALL_IN:
        return cover, cover
    if kind == SZ_FRACTION:
        return affordable(close, costs[C_SIZE_VALUE] * value, costs), cover
    if kind == SZ_FIXED:
        return affordable(close, costs[C_SIZE_VALUE], costs), cover
    if kind == SZ_SHARES:
        return costs[C_SIZE_VALUE], cover
    per_share = close * (1.0 + costs[C_SLIP]) * dist
    if atr_d > 0 and (per_share <= 0 or atr_d < per_share):
        per_share = atr_d
    if per_share <= 0:
        return 0.0, cover
    return math.floor(costs[C_SIZE_VALUE] * value / per_share / 1.0) * 1.0, cover


@njit(cache=True)
def affordable_size(cash: float, price: float, costs: np.ndarray) -> float:
    """``engine.backtest.broker.affordable_size`` (whole shares, 1e-9 tolerance)."""
    if price <= 0 or cash <= 0:
        return 0.0
    size = float(math.floor(cash / (price + costs[C_PER_SHARE])))
    while size > 0 and size * price + commission(size, price, costs) > cash + FIT_TOL:
        size -= 1.0
    return size if size > 0.0 else 0.0


@njit(cache=True)
def pos_update(size0: float, price0: float, size: float, price: float) -> tuple:
    """``Position.update``: (new size, new average price, opened, closed)."""
    new = size0 + size
    if new == 0:
        return new, 0.0, 0.0, size
    if size0 == 0:
        return new, price, size, 0.0
    if size0 > 0:
        if size > 0:
            return new, (price0 * size0 + size * price) / new, size, 0.0
        if new > 0:
            return new, price0, 0.0, size
        return new, price, new, -size0
    if size < 0:
        return new, (price0 * size0 + size * price) / new, size, 0.0
    if new < 0:
        return new, price0, 0.0, size
    return new, price, new, -size0


# ---------------------------------------------------------------- order book operations
@njit(cache=True)
def submit(
    sim: tuple, otype: int, side: float, price: float, size: float, oco: int, reason: int, bar: int
) -> int:
    """Send an order (checked and accepted at the next bar); returns its ref.

    ``oco`` is the ref of the group's first order, or 0 for a group of its own.
    """
    book, meta = sim[0], sim[1]
    k = meta[M_NB]
    if k >= book.shape[0]:
        compact(sim)
        k = meta[M_NB]
        if k >= book.shape[0]:
            meta[M_OVERFLOW] = 1
            return 0
    ref = meta[M_NEXTREF]
    meta[M_NEXTREF] = ref + 1
    row = book[k]
    row[O_TYPE] = otype
    row[O_SIDE] = side
    row[O_PRICE] = price
    row[O_SIZE] = size
    row[O_OCO] = ref if oco == 0 else oco
    row[O_OCOLIVE] = 1.0
    row[O_STATUS] = SUBMITTED
    row[O_REASON] = reason
    row[O_BAR] = bar
    row[O_REF] = ref
    row[O_RESIZED] = np.nan
    row[O_RSTOP] = np.nan
    row[O_RDIST] = 0.0
    row[O_BUDGET] = np.nan
    row[O_RATR] = 0.0
    meta[M_NB] = k + 1
    return ref


@njit(cache=True)
def tag_risk(sim: tuple, ref: int, stop: float, dist: float, budget: float, atr_d: float) -> None:
    """Mark the order just sent (``ref``) with its risk: a stop price, or a distance from the
    fill (a fraction ``dist``, dollars ``atr_d``), and the budget (the harness's ``risk_stop`` /
    ``risk_dist`` / ``risk_atr`` / ``risk_budget`` info)."""
    if ref == 0:
        return
    row = sim[0][sim[1][M_NB] - 1]
    row[O_RSTOP] = stop
    row[O_RDIST] = dist
    row[O_BUDGET] = budget
    row[O_RATR] = atr_d


@njit(cache=True)
def find(sim: tuple, ref: int) -> int:
    """Book row of order ``ref`` (-1 when it is gone)."""
    book, meta = sim[0], sim[1]
    for k in range(meta[M_NB]):
        if book[k, O_REF] == ref:
            return k
    return -1


@njit(cache=True)
def alive(sim: tuple, ref: int) -> bool:
    """``order.alive()``: submitted or accepted, not filled, cancelled or rejected."""
    k = find(sim, ref)
    if k < 0:
        return False
    st = sim[0][k, O_STATUS]
    return st == SUBMITTED or st == ACCEPTED


@njit(cache=True)
def _event(sim: tuple, k: int, status: int, size: float, price: float) -> None:
    book, meta, events = sim[0], sim[1], sim[5]
    e = meta[M_NEVENTS]
    if e >= events.shape[0]:
        meta[M_OVERFLOW] = 1
        return
    events[e, E_REF] = book[k, O_REF]
    events[e, E_STATUS] = status
    events[e, E_SIDE] = book[k, O_SIDE]
    events[e, E_SIZE] = size
    events[e, E_PRICE] = price
    events[e, E_REASON] = book[k, O_REASON]
    meta[M_NEVENTS] = e + 1


@njit(cache=True)
def _ococheck(sim: tuple, k: int) -> None:
    """Dissolve ``k``'s OCO group, cancelling its members that are live at the broker."""
    book, meta = sim[0], sim[1]
    if book[k, O_OCOLIVE] == 0.0:
        return
    leader = book[k, O_OCO]
    for j in range(meta[M_NB]):
        if book[j, O_OCO] == leader:
            book[j, O_OCOLIVE] = 0.0
            if book[j, O_STATUS] == ACCEPTED:
                book[j, O_STATUS] = CANCELLED
                _event(sim, j, CANCELLED, 0.0, 0.0)


@njit(cache=True)
def cancel(sim: tuple, ref: int) -> bool:
    """``broker.cancel``: only an order already accepted (resting at the broker) is cancelled."""
    k = find(sim, ref)
    if k < 0 or sim[0][k, O_STATUS] != ACCEPTED:
        return False
    sim[0][k, O_STATUS] = CANCELLED
    _event(sim, k, CANCELLED, 0.0, 0.0)
    _ococheck(sim, k)
    return True


@njit(cache=True)
def compact(sim: tuple) -> None:
    """Drop dead orders from the book, keeping the submission order of the rest."""
    book, meta = sim[0], sim[1]
    w = 0
    for k in range(meta[M_NB]):
        st = book[k, O_STATUS]
        if st == SUBMITTED or st == ACCEPTED or book[k, O_OCOLIVE] != 0.0:
            if w != k:
                for f in range(book.shape[1]):  # a loop: a slice copy compiles its error paths
                    book[w, f] = book[k, f]
            w += 1
    meta[M_NB] = w


# ---------------------------------------------------------------- execution
@njit(cache=True)
def _pseudo_cash(
    cash: float, psize: float, pprice: float, row: np.ndarray, costs: np.ndarray
) -> tuple:
    """``BackBroker._execute`` without a bar (``ago=None``): cash after this order, at its created price."""
    size = row[O_SIDE] * row[O_SIZE]
    price = row[O_PRICE]
    psize, pprice, opened, closed = pos_update(psize, pprice, size, price)
    if closed != 0:
        cash += -closed * price
        cash -= commission(closed, price, costs)
    if opened != 0:
        cash -= opened * price
        cash -= commission(opened, price, costs)
    return cash, psize, pprice


@njit(cache=True)
def check_submitted(sim: tuple, costs: np.ndarray) -> None:
    """Accept the orders sent on the previous bar, or reject them (``Margin``) on a running cash total."""
    book, meta, acct = sim[0], sim[1], sim[2]
    cash = acct[A_CASH]
    psize = acct[A_POS]
    pprice = acct[A_PPRICE]
    for k in range(meta[M_NB]):
        if book[k, O_STATUS] != SUBMITTED:
            continue
        # the running total carries a rejected order's deficit on to the next one, as backtrader
        cash, psize, pprice = _pseudo_cash(cash, psize, pprice, book[k], costs)
        if cash >= 0.0:
            book[k, O_STATUS] = ACCEPTED
        else:
            book[k, O_STATUS] = MARGIN
            _event(sim, k, MARGIN, 0.0, 0.0)
            _ococheck(sim, k)


@njit(cache=True)
def _fit_to_cash(row: np.ndarray, price: float, cash: float, costs: np.ndarray) -> None:
    """``HonestBroker._fit_to_cash``: cut a buy a gap made unaffordable to the size that fits."""
    size = row[O_SIZE]
    if size * price + commission(size, price, costs) <= cash + FIT_TOL:
        return
    fitted = affordable_size(cash, price, costs)
    if fitted <= 0 or fitted >= size:
        return
    row[O_RESIZED] = size
    row[O_SIZE] = fitted


@njit(cache=True)
def execute(sim: tuple, k: int, bar: int, price: float, costs: np.ndarray) -> None:
    """Fill order ``k`` at ``price`` (``HonestBroker._execute`` then ``BackBroker._execute``)."""
    book, acct = sim[0], sim[2]
    row = book[k]
    if row[O_SIDE] > 0:
        _fit_to_cash(row, price, acct[A_CASH], costs)
    size = row[O_SIDE] * row[O_SIZE]
    size0 = acct[A_POS]
    price0 = acct[A_PPRICE]
    psize, _pp, opened, closed = pos_update(size0, price0, size, price)
    cash = acct[A_CASH]
    closedcomm = 0.0
    openedcomm = 0.0
    if closed != 0:
        pnl = -closed * (price - price0) * 1.0
        cash += -closed * price0 + pnl
        closedcomm = commission(closed, price, costs)
        cash -= closedcomm
        cash += 0.0
        acct[A_CASH] = cash
    popened = opened
    if opened != 0:
        cash -= opened * price
        openedcomm = commission(opened, price, costs)
        cash -= openedcomm
        if cash < 0.0:
            opened = 0.0
            openedcomm = 0.0
        else:
            if abs(psize) > abs(opened):
                cash += 0.0
            acct[A_CASH] = cash
    execsize = closed + opened
    if execsize != 0:
        newsize, newprice, _o, _c = pos_update(size0, price0, execsize, price)
        acct[A_POS] = newsize
        acct[A_PPRICE] = newprice
        acct[A_PDAY] = acct[A_TODAY]  # Position.update's datetime
        if closed != 0:  # int2pnl: the borrow fees go to the covering fill's commission
            closedcomm += acct[A_CREDIT]
            acct[A_CREDIT] = 0.0
        recorded = (0.0 + execsize * price) / execsize  # OrderData.addbit's average
        comm = 0.0 + (closedcomm + openedcomm)
        row[O_STATUS] = COMPLETED
        _event(sim, k, COMPLETED, abs(execsize), recorded)
        book_fill(sim, row, bar, abs(execsize), recorded, comm)
        _ococheck(sim, k)
    if popened != 0 and opened == 0:
        row[O_STATUS] = MARGIN
        _event(sim, k, MARGIN, 0.0, 0.0)
        _ococheck(sim, k)


@njit(cache=True)
def _try_exec(
    sim: tuple, k: int, bar: int, o: float, h: float, lo: float, costs: np.ndarray
) -> None:
    """``BackBroker._try_exec`` for market, limit and stop orders on one daily bar."""
    row = sim[0][k]
    slip = costs[C_SLIP]
    otype = row[O_TYPE]
    buy = row[O_SIDE] > 0
    p = row[O_PRICE]
    if otype == MARKET:
        if bar > row[O_BAR]:  # only after the creation bar
            execute(sim, k, bar, slip_up(h, o, slip) if buy else slip_down(lo, o, slip), costs)
    elif otype == LIMIT:
        if buy:
            if p >= o:
                execute(sim, k, bar, slip_up(p if p < h else h, o, slip), costs)
            elif p >= lo:
                execute(sim, k, bar, p, costs)
        elif p <= o:
            execute(sim, k, bar, slip_down(p, o, slip), costs)  # floor is the limit
        elif p <= h:
            execute(sim, k, bar, p, costs)
    elif buy:
        if o >= p:
            execute(sim, k, bar, slip_up(h, o, slip), costs)
        elif h >= p:
            execute(sim, k, bar, slip_up(h, p, slip), costs)
    elif o <= p:
        execute(sim, k, bar, slip_down(lo, o, slip), costs)
    elif lo <= p:
        execute(sim, k, bar, slip_down(lo, p, slip), costs)


@njit(cache=True)
def broker_next(sim: tuple, bar: int, o: float, h: float, lo: float, costs: np.ndarray) -> None:
    """One bar of ``BackBroker.next``: accept what was sent, then try every live order in order.

    Notifications (fills, rejections, cancels) accumulate in ``sim[5]`` until the strategy
    kernel has read them and reset ``meta[M_NEVENTS]``: cancels made in a strategy's ``next``
    are delivered on the following bar, before that bar's fills, as backtrader delivers them.
    Kernels skip the call when the book is empty (``meta[M_NB] == 0``): passing the state tuple
    costs a reference-count update per array, which dominated an empty bar.
    """
    compact(sim)
    check_submitted(sim, costs)
    if costs[C_BORROW] > 0:  # BackBroker.next charges credit interest before any fill
        charge_borrow(sim[2], sim[2][A_TODAY], costs)
    book, meta = sim[0], sim[1]
    for k in range(meta[M_NB]):
        if book[k, O_STATUS] == ACCEPTED:
            _try_exec(sim, k, bar, o, h, lo, costs)


@njit(cache=True)
def charge_borrow(acct: np.ndarray, day: float, costs: np.ndarray) -> None:
    """``BackBroker.next`` after the submitted orders are checked: credit interest on a short (``CommInfoBase``'s
    ``days * interest / 365 * abs(size) * price``, ``price`` the average short price), off the
    cash and into the fees its cover books. Run every bar a short may be held."""
    pos = acct[A_POS]
    if pos == 0:
        return
    d = 0.0
    if pos < 0 and day > acct[A_PDAY]:
        d = (day - acct[A_PDAY]) * (costs[C_BORROW] / 365.0) * abs(pos) * acct[A_PPRICE]
    acct[A_CREDIT] += d
    acct[A_CASH] -= 0.0 + d
    acct[A_PDAY] = day


@njit(cache=True)
def value(sim: tuple, close: float) -> float:
    """Account value at ``close`` (``BackBroker._get_value``'s order of operations)."""
    return account_value(sim[2], close)


@njit(cache=True)
def account_value(acct: np.ndarray, close: float) -> float:
    """:func:`value` from the account vector alone."""
    size = acct[A_POS]
    dv = size * close
    if dv > 0:
        du = size * (close - acct[A_PPRICE]) * 1.0
        return acct[A_CASH] + ((0.0 + (dv - du) / 1.0) + du)
    return acct[A_CASH] + (0.0 + dv)
