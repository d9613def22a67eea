"""The numba kernel of the trace-driven controller (see ``controller.py`` for the model).

One call simulates one trace under one configuration, event by event: it jumps from one
moment where something can happen (a request becomes ready, a command's constraints are
met, a refresh is due) to the next, so its cost grows with the number of commands, not
with simulated cycles.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from archlab.problems.dram.unchecked import unchecked_indexing

NOP, ACT, PRE, RD, RDA, WR, WRA, PREAB, REFAB = 0, 1, 2, 3, 4, 5, 6, 7, 8
INF = np.int64(1) << np.int64(60)
NEG = -(np.int64(1) << np.int64(40))
QCAP = 24  # per-bank queue capacity (>= 2 * max RequestBufferSize + 1)

# config vector layout (config.encode_config)
C_PAGE, C_SCHED, C_BUF, C_RBS, C_RESPQ, C_REF, C_POST, C_PULL, C_ARB, C_MAT = range(10)
# timing vector layout (specs.TIMING_FIELDS)
(T_CL, T_RCD, T_RP, T_RAS, T_RC, T_RFC, T_REFI, T_WL, T_WR, T_RTP, T_CCDL, T_CCDS, T_RRDL, T_RRDS,
 T_FAW, T_WTRL, T_WTRS, T_BL2) = range(18)
# result vector layout
(R_MAKESPAN, R_EWINDOW, R_ACT, R_PRE, R_RD, R_WR, R_REF, R_OPEN, R_LATSUM, R_MAXLAT) = range(10)
N_RESULTS = 10
# request record layout (one row per request; see controller.prepare)
Q_ARR, Q_WRITE, Q_BANK, Q_ROW, Q_LINE = range(5)
N_REQ = 5
# scratch columns per request: data end at the controller (read with the Reorder queue),
# response leaving the controller (read with the Reorder arbiter), response reaching the
# initiator, and the k-th delivery to the initiator (read only below ndeliv)
W_READY, W_CTRL, W_INIT, W_DELIV = range(4)
N_WORK = 4


SIGNATURE = "float64[::1](int64[:, ::1], int64[::1], int64[::1], int64, int64, bool_, int64[::1], int64[:, ::1])"


@njit(inline="always")
def _take(block, at, size, fill):
    """The next ``size`` entries of ``block`` from ``at``, set to ``fill``; and the new offset."""
    view = block[at:at + size]
    view[:] = fill
    return view, at + size


def _simulate(req, cfg, tim, nbanks, banks_per_group, track_open, lat_out, work):
    """Simulate; returns the result vector and fills ``lat_out`` with per-request latency.

    ``req`` holds one row per request (columns ``Q_*``); ``work`` is an ``(n, N_WORK)`` int64
    scratch array (contents ignored), so that a batch of configurations reuses one
    allocation. Row-per-request records keep each request's fields in one cache line.
    """
    n = req.shape[0]
    page = cfg[C_PAGE]
    sched = cfg[C_SCHED]
    bufk = cfg[C_BUF]
    rbs = cfg[C_RBS]
    respq = cfg[C_RESPQ]
    refresh = cfg[C_REF]
    maxpost = cfg[C_POST]
    maxpull = -cfg[C_PULL]
    arb = cfg[C_ARB]
    mat = cfg[C_MAT]
    CL = tim[T_CL]
    RCD = tim[T_RCD]
    RP = tim[T_RP]
    RAS = tim[T_RAS]
    RC = tim[T_RC]
    RFC = tim[T_RFC]
    REFI = tim[T_REFI]
    WL = tim[T_WL]
    TWR = tim[T_WR]
    RTP = tim[T_RTP]
    CCDL = tim[T_CCDL]
    CCDS = tim[T_CCDS]
    RRDL = tim[T_RRDL]
    RRDS = tim[T_RRDS]
    FAW = tim[T_FAW]
    WTRL = tim[T_WTRL]
    WTRS = tim[T_WTRS]
    BL2 = tim[T_BL2]
    RTW = CL + BL2 + 2 - WL
    WRPRE = WL + BL2 + TWR
    ngroups = (nbanks + banks_per_group - 1) // banks_per_group

    # all small state lives in one block (one allocation per call)
    block = np.empty(nbanks * (QCAP + 16) + 3 * ngroups + 4 + 9, np.int64)
    at = 0
    # scheduler buffers (per bank, arrival order) and buffer counters
    qb, at = _take(block, at, nbanks * QCAP, 0)  # bank b's queue at b * QCAP
    qn, at = _take(block, at, nbanks, 0)
    nrd = 0
    nwr = 0
    total = 0
    last_bank = 0
    # bank machines (flags as 0/1)
    is_open, at = _take(block, at, nbanks, 0)
    open_row, at = _take(block, at, nbanks, -1)
    cur, at = _take(block, at, nbanks, -1)
    keep, at = _take(block, at, nbanks, 0)
    bcmd, at = _take(block, at, nbanks, NOP)
    dirty, at = _take(block, at, nbanks, 0)
    dlist, at = _take(block, at, nbanks, 0)
    dn = 0
    alist, at = _take(block, at, nbanks, 0)
    apos, at = _take(block, at, nbanks, 0)
    acount = 0
    blocal, at = _take(block, at, nbanks, INF)
    close_at, at = _take(block, at, nbanks, INF)  # scheduled implicit close (energy accounting)
    n_unclosed = nbanks  # banks whose close_at is INF
    close_max = NEG  # latest close so far (= max(close_at) once n_unclosed == 0)
    # timing history
    b_act, at = _take(block, at, nbanks, NEG)
    b_pre, at = _take(block, at, nbanks, NEG)
    b_rd, at = _take(block, at, nbanks, NEG)
    b_wr, at = _take(block, at, nbanks, NEG)
    g_act, at = _take(block, at, ngroups, NEG)
    g_rd, at = _take(block, at, ngroups, NEG)
    g_wr, at = _take(block, at, ngroups, NEG)
    act4, at = _take(block, at, 4, NEG)
    e_cls, at = _take(block, at, 9, 0)  # earliest start per command class
    act4_i = 0
    a_act = NEG
    a_rd = NEG
    a_wr = NEG
    a_ref = NEG
    a_prea = NEG
    last_cmd = NEG
    last_pre_end = NEG
    grp_last_write = False
    # counters
    n_act = 0
    n_pre = 0
    n_rd = 0
    n_wr = 0
    n_ref = 0
    open_time = 0
    last_evt = 0
    # front end and responses: work columns (see W_*), -1 where not yet known; each
    # column is reset only where its unset entries are read
    if respq != 0:
        work[:, W_READY] = -1
    if arb == 2:
        work[:, W_CTRL] = -1
    work[:, W_INIT] = -1
    ndeliv = 0
    ctrl_prev = NEG
    rq_ptr = 0
    ar_ptr = 0
    init_prev = NEG
    nxt = 0
    entry_last = NEG
    acc_last = NEG
    done = 0
    # refresh manager
    rm_next = REFI
    rm_pulled = False
    flex = 0
    blocked = False
    rcmd = NOP
    rtime = INF

    again = False
    t = np.int64(0)
    while done < n:
        # ---- (2) accept requests into the scheduler buffers (Controller::manageRequests);
        # also re-entered right after a column command freed a slot in the same cycle
        ta = INF
        while nxt < n:
            if bufk == 0:
                space = qn[last_bank] < rbs
            elif bufk == 1:
                space = nrd < rbs and nwr < rbs
            else:
                space = total < rbs
            if not space:
                break  # backpressure until a column command frees a slot
            entry = max(req[nxt, Q_ARR], entry_last)
            if arb != 0 and nxt >= mat:
                if ndeliv <= nxt - mat:
                    break  # MaxActiveTransactions reached: wait for a response
                entry = max(entry, work[nxt - mat, W_DELIV])
            if arb == 0:
                entry = max(entry, acc_last)
            rdy = max(entry, acc_last)
            if rdy > t:
                ta = rdy
                break
            b = req[nxt, Q_BANK]
            qb[b * QCAP + qn[b]] = nxt
            qn[b] += 1
            total += 1
            if req[nxt, Q_WRITE]:
                nwr += 1
            else:
                nrd += 1
            last_bank = b
            entry_last = entry
            acc_last = t
            nxt += 1
            if not blocked:
                if not dirty[b]:
                    dirty[b] = True
                    dlist[dn] = b
                    dn += 1
        if again:
            again = False
            tr = INF if refresh == 0 else max(rm_next, t + 1)
        else:
            tr = INF
        # ---- bank machines whose state or buffer changed pick request and command
        # (DRAMSys BankMachine::start with the scheduler's getNextRequest)
        for di in range(dn):
            b = dlist[di]
            dirty[b] = False
            m = qn[b]
            nc = NOP
            nt_b = INF
            if not blocked and m > 0:
                pick = qb[b * QCAP]
                if sched != 0 and is_open[b]:
                    r = open_row[b]
                    first_hit = -1
                    grp_hit = -1
                    for k in range(m):
                        q = qb[b * QCAP + k]
                        if req[q, Q_ROW] == r:
                            if first_hit < 0:
                                first_hit = q
                                if sched == 1:
                                    break
                            if sched == 2 and req[q, Q_WRITE] == grp_last_write:
                                hazard = False
                                for j in range(k):
                                    q2 = qb[b * QCAP + j]
                                    if req[q2, Q_ROW] == r and req[q2, Q_LINE] == req[q, Q_LINE]:
                                        hazard = True
                                        break
                                if not hazard:
                                    grp_hit = q
                                    break
                    if grp_hit >= 0:
                        pick = grp_hit
                    elif first_hit >= 0:
                        pick = first_hit
                if not keep[b] or req[pick, Q_ROW] == open_row[b]:
                    cur[b] = pick
                p = cur[b]
                if not is_open[b]:
                    nc = ACT
                    nt_b = max(b_pre[b] + RP, b_act[b] + RC)
                elif req[p, Q_ROW] != open_row[b]:
                    nc = PRE
                    nt_b = max(b_act[b] + RAS, b_rd[b] + RTP, b_wr[b] + WRPRE)
                else:
                    auto = page == 2
                    if page == 1 or page == 3:
                        hits = 0
                        for k in range(m):
                            if req[qb[b * QCAP + k], Q_ROW] == open_row[b]:
                                hits += 1
                        if page == 1:
                            auto = m >= 2 and hits < 2  # OpenAdaptive: a request waits, no further hit
                        else:
                            auto = hits < 2  # ClosedAdaptive: no further row hit
                    if req[p, Q_WRITE]:
                        nc = WRA if auto else WR
                    else:
                        nc = RDA if auto else RD
                    nt_b = b_act[b] + RCD
            # keep the list of banks holding a command up to date
            if nc == NOP and bcmd[b] != NOP:
                last = alist[acount - 1]
                alist[apos[b]] = last
                apos[last] = apos[b]
                acount -= 1
            elif nc != NOP and bcmd[b] == NOP:
                alist[acount] = b
                apos[b] = acount
                acount += 1
            bcmd[b] = nc
            blocal[b] = nt_b
        dn = 0
        # ---- (3) refresh manager
        if refresh == 1 and tr == INF:
            tr = max(rm_next, t + 1)
            rcmd = NOP
            if t >= rm_next:
                if t >= rm_next + REFI:
                    rm_next += REFI
                    rm_pulled = False
                busy = False
                for b in range(nbanks):
                    if cur[b] >= 0:
                        busy = True
                        break
                if not rm_pulled:
                    do = True
                    if flex == maxpost:
                        if not blocked:
                            blocked = True
                            for b in range(nbanks):
                                bcmd[b] = NOP
                                blocal[b] = INF
                            acount = 0
                    elif busy:
                        do = False
                        flex += 1
                        rm_next += REFI
                    if do:
                        rcmd = REFAB
                else:
                    if busy:
                        rm_pulled = False
                        rm_next += REFI
                    else:
                        rcmd = REFAB
                if rcmd == REFAB:
                    for b in range(nbanks):
                        if is_open[b]:
                            rcmd = PREAB
                            break
                if rcmd == PREAB:
                    rtime = NEG
                    for b in range(nbanks):
                        if is_open[b]:
                            rtime = max(rtime, b_act[b] + RAS, b_rd[b] + RTP, b_wr[b] + WRPRE)
                elif rcmd == REFAB:
                    rtime = max(a_ref + RFC, a_prea + RP)
                    for b in range(nbanks):
                        rtime = max(rtime, b_pre[b] + RP, b_act[b] + RC)
                tr = max(rm_next, t + 1)
        # ---- (4)+(5) the oldest command with the earliest start (CmdMux Oldest)
        floor = max(last_cmd + 1, t)
        e_cls[ACT] = max(a_act + RRDS, act4[act4_i] + FAW, a_ref + RFC, a_prea + RP, floor)
        e_cls[RD] = max(a_rd + CCDS, a_wr + WL + BL2 + WTRS, floor)
        e_cls[RDA] = e_cls[RD]
        e_cls[WR] = max(a_wr + CCDS, a_rd + RTW, floor)
        e_cls[WRA] = e_cls[WR]
        e_cls[PRE] = floor
        e_cls[NOP] = INF
        best_t = INF
        best_b = -2
        best_id = INF
        if refresh == 1 and rcmd != NOP:
            best_t = max(rtime, floor)
            best_b = -1
            best_id = -1
        if ngroups == 1:
            for ai in range(acount):
                b = alist[ai]
                tb = max(blocal[b], e_cls[bcmd[b]])
                if tb < best_t or (tb == best_t and cur[b] < best_id):
                    best_t = tb
                    best_b = b
                    best_id = cur[b]
        else:
            for ai in range(acount):
                b = alist[ai]
                c = bcmd[b]
                tb = max(blocal[b], e_cls[c])
                g = b // banks_per_group
                if c == ACT:
                    tb = max(tb, g_act[g] + RRDL)
                elif c == RD or c == RDA:
                    tb = max(tb, g_rd[g] + CCDL, g_wr[g] + WL + BL2 + WTRL)
                elif c == WR or c == WRA:
                    tb = max(tb, g_wr[g] + CCDL)
                if tb < best_t or (tb == best_t and cur[b] < best_id):
                    best_t = tb
                    best_b = b
                    best_id = cur[b]
        if best_t > t and (ta <= best_t or tr <= best_t):
            # a request or the refresh manager acts first: go there and decide again
            t = min(ta, tr)
            continue
        if best_t >= INF:
            break  # nothing can ever happen (cannot occur for valid inputs)
        t = best_t
        # ---- issue the chosen command at t
        if track_open:
            # some bank open after the last event <=> the latest close is after it
            mx = INF if n_unclosed > 0 else close_max
            if mx > last_evt:
                open_time += min(t, mx) - last_evt
            last_evt = t
        last_cmd = t
        if best_b == -1:
            if rcmd == PREAB:
                a_prea = t
                for b in range(nbanks):
                    if is_open[b]:
                        is_open[b] = False
                        keep[b] = False
                        b_pre[b] = t
                        close_at[b] = t
                        n_unclosed -= 1
                        close_max = max(close_max, t)
                        n_pre += 1
                last_pre_end = max(last_pre_end, t + RP - 1)
            else:
                a_ref = t
                n_ref += 1
                last_pre_end = max(last_pre_end, t + RFC - 1)
                blocked = False
                if rm_pulled:
                    flex -= 1
                else:
                    rm_pulled = True
                if flex == maxpull:
                    rm_pulled = False
                    rm_next += REFI
                for b in range(nbanks):
                    if not dirty[b]:
                        dirty[b] = True
                        dlist[dn] = b
                        dn += 1
            rcmd = NOP
            t += 1
            continue
        b = best_b
        c = bcmd[b]
        p = cur[b]
        g = 0 if ngroups == 1 else b // banks_per_group
        if c == ACT:
            is_open[b] = True
            if close_at[b] != INF:
                n_unclosed += 1
            close_at[b] = INF
            open_row[b] = req[p, Q_ROW]
            keep[b] = True
            b_act[b] = t
            g_act[g] = t
            a_act = t
            act4[act4_i] = t
            act4_i = (act4_i + 1) & 3
            n_act += 1
        elif c == PRE:
            is_open[b] = False
            close_at[b] = t
            n_unclosed -= 1
            close_max = max(close_max, t)
            keep[b] = False
            b_pre[b] = t
            n_pre += 1
            last_pre_end = max(last_pre_end, t + RP - 1)
        else:
            # column command: serve request p and remove it from the buffer
            w = c == WR or c == WRA
            if w:
                b_wr[b] = t
                g_wr[g] = t
                a_wr = t
                n_wr += 1
                ready = t + WL + BL2
            else:
                b_rd[b] = t
                g_rd[g] = t
                a_rd = t
                n_rd += 1
                ready = t + CL + BL2
            # FrFcfsGrp picks depend on the last column direction: re-evaluate the other
            # banks only when it flips (their own state is unchanged, so the pick is too),
            # and only open banks holding two or more requests (else one pick is possible)
            grp_flip = w != grp_last_write
            grp_last_write = w
            if c == RDA or c == WRA:
                ip = max(t + RTP, b_act[b] + RAS) if c == RDA else max(t + WRPRE, b_act[b] + RAS)
                is_open[b] = False
                close_at[b] = ip
                n_unclosed -= 1
                close_max = max(close_max, ip)
                b_pre[b] = ip
                n_pre += 1
                last_pre_end = max(last_pre_end, ip + RP - 1)
            keep[b] = False
            cur[b] = -1
            k = 0
            while qb[b * QCAP + k] != p:
                k += 1
            for j in range(k, qn[b] - 1):
                qb[b * QCAP + j] = qb[b * QCAP + j + 1]
            qn[b] -= 1
            total -= 1
            if req[p, Q_WRITE]:
                nwr -= 1
            else:
                nrd -= 1
            done += 1
            work[p, W_READY] = ready
            # controller response queue -> arbiter -> initiator (one response per cycle)
            if respq == 0:
                ctrl_prev = max(ready, ctrl_prev + 1)
                work[p, W_CTRL] = ctrl_prev
                if arb != 2:
                    work[p, W_INIT] = ctrl_prev
                    work[ndeliv, W_DELIV] = ctrl_prev
                    ndeliv += 1
            else:
                while rq_ptr < n and work[rq_ptr, W_READY] >= 0:
                    ctrl_prev = max(work[rq_ptr, W_READY], ctrl_prev + 1)
                    work[rq_ptr, W_CTRL] = ctrl_prev
                    if arb != 2:
                        work[rq_ptr, W_INIT] = ctrl_prev
                        work[ndeliv, W_DELIV] = ctrl_prev
                        ndeliv += 1
                    rq_ptr += 1
            if arb == 2:
                while ar_ptr < n and work[ar_ptr, W_CTRL] >= 0:
                    init_prev = max(work[ar_ptr, W_CTRL], init_prev + 1)
                    work[ar_ptr, W_INIT] = init_prev
                    work[ndeliv, W_DELIV] = init_prev
                    ndeliv += 1
                    ar_ptr += 1
            if sched == 2 and grp_flip and not blocked:
                for b2 in range(nbanks):
                    if b2 != b and is_open[b2] and qn[b2] >= 2:
                        if not dirty[b2]:
                            dirty[b2] = True
                            dlist[dn] = b2
                            dn += 1
        if not blocked:
            if not dirty[b]:
                dirty[b] = True
                dlist[dn] = b
                dn += 1
        if c == ACT or c == PRE:
            t += 1
        else:
            again = True  # the freed slot admits waiting requests in this same cycle

    makespan = np.int64(0)
    latsum = 0.0
    maxlat = np.int64(0)
    for i in range(n):
        d = work[i, W_INIT]
        if d > makespan:
            makespan = d
        lat = d - req[i, Q_ARR]
        lat_out[i] = lat
        latsum += lat
        if lat > maxlat:
            maxlat = lat
    # close the books on open-bank time
    mx = NEG
    anyo = False
    for b in range(nbanks):
        if close_at[b] > last_evt:
            anyo = True
            mx = max(mx, close_at[b])
    ewin = max(makespan, last_pre_end)
    if anyo and track_open:
        open_time += min(ewin, mx) - last_evt
    res = np.zeros(N_RESULTS, np.float64)
    res[R_MAKESPAN] = makespan
    res[R_EWINDOW] = ewin
    res[R_ACT] = n_act
    res[R_PRE] = n_pre
    res[R_RD] = n_rd
    res[R_WR] = n_wr
    res[R_REF] = n_ref
    res[R_OPEN] = open_time
    res[R_LATSUM] = latsum
    res[R_MAXLAT] = maxlat
    return res


# compiled eagerly (or loaded from numba's cache) without index wraparound: the kernel never
# indexes with a negative number
with unchecked_indexing():
    simulate_kernel = njit(SIGNATURE, cache=True, error_model="numpy")(_simulate)
