/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Replay protection for authenticated frames. Every sender stamps its frames with its id, a
 * session nonce (random on each start), a sequence number that rises by one per frame, and
 * its wall clock. The tracker keeps per sender the current nonce, the highest sequence seen
 * with a bitmap of the SL_REPLAY_SEQ_WINDOW below it (as IPsec does), and the newest
 * timestamp. A frame is accepted when:
 *   - its timestamp is within window_ns of our clock, and
 *   - same nonce: its sequence is new and not older than the sequence window, or
 *   - new nonce (the sender restarted): its timestamp is newer than anything accepted from
 *     that sender, so frames of an earlier session cannot be replayed into a later one.
 * Senders are bounded: when the table is full, a sender whose newest frame is older than
 * the time window is forgotten (its frames can no longer pass the window check); if none is,
 * the newcomer is refused. Call it only for frames whose MAC verified.
 */
#include <stdint.h>

#define SL_REPLAY_SEQ_WINDOW 64

struct sl_replay;

/* max_senders >= 1, window_ns > 0, else -EINVAL. */
int sl_replay_new(struct sl_replay **ret, uint32_t max_senders, uint64_t window_ns);
void sl_replay_free(struct sl_replay **r);

/*
 * Records frame (src, nonce, seq, ts_ns) at our wall clock now_ns. Returns 0 when accepted
 * in the sender's current session, 1 when accepted as the first frame of a new session (a
 * sender not seen before, or one that restarted: report full state to it), -ETIME (timestamp
 * outside the window, or a new session older than the current one), -EALREADY (sequence seen
 * already or older than the sequence window), -ENOSPC (sender table full), -EINVAL (src,
 * nonce or seq zero). Nothing is recorded on failure.
 */
int sl_replay_accept(struct sl_replay *r, uint64_t src, uint64_t nonce, uint64_t seq,
		     uint64_t ts_ns, uint64_t now_ns);

/* Number of senders tracked now. */
uint32_t sl_replay_count(const struct sl_replay *r);
