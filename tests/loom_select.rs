//! loom models of `verisync::select`: two channels becoming ready at once, rendezvous
//! partners racing for one select, a select woken by a plain sender and by a disconnection,
//! and two selects meeting on one rendezvous channel.
//!
//! Each model checks that exactly one operation completes, that every value ends up exactly
//! once somewhere (taken, still buffered, or back with its sender) and that no wake-up is lost
//! (a blocked select that is never woken is a deadlock, which loom reports). Models with three
//! threads run at a preemption bound of 2 (`explore_bounded`), as in `loom_mpmc.rs`.
//!
//! Run: `RUSTFLAGS="--cfg verisync_loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release
//! --target-dir target/loom --test loom_select`.
#![cfg(verisync_loom)]

#[path = "support/loom.rs"]
mod support;

use loom::thread;
use support::{DropLog, explore, explore_bounded};
use verisync::mpmc;
use verisync::select::Select;

/// A deadline far away: under loom a wait with a deadline gives up as soon as it would sleep.
const LONG: std::time::Duration = std::time::Duration::from_secs(3600);

/// A bounded and an unbounded channel each get a value from its own producer while one
/// select waits on both: it takes exactly one, the other stays buffered, and the select is
/// woken whichever producer comes first.
#[test]
fn two_channels_ready_at_once() {
    explore_bounded("two_channels_ready_at_once", 50, 2, || {
        let drops = DropLog::new(2);
        let (tx1, rx1) = mpmc::channel(1);
        let (tx2, rx2) = mpmc::unbounded();
        let producers = [(tx1, 0), (tx2, 1)].map(|(tx, id)| {
            let drops = drops.clone();
            thread::spawn(move || tx.send(drops.item(id)).map_err(|_| id))
        });
        let taken = Select::new()
            .recv(&rx1, |v| v.unwrap().id)
            .recv(&rx2, |v| v.unwrap().id)
            .select();
        for producer in producers {
            producer.join().unwrap().unwrap();
        }
        let left: Vec<usize> = [rx1.try_recv(), rx2.try_recv()]
            .into_iter()
            .filter_map(|v| v.ok().map(|v| v.id))
            .collect();
        assert_eq!(
            left,
            [1 - taken],
            "the select took {taken} and left {left:?}"
        );
        drops.assert_all_dropped_once();
    });
}

/// Two senders on two rendezvous channels race to hand a value to one select; all three give
/// up at their deadline (at once, under loom). A sender succeeds exactly when the select took
/// its value; no value is lost or doubled.
#[test]
fn rendezvous_senders_race_for_one_select() {
    explore_bounded("rendezvous_senders_race_for_one_select", 50, 2, || {
        let drops = DropLog::new(2);
        let (tx1, rx1) = mpmc::channel(0);
        let (tx2, rx2) = mpmc::channel(0);
        let deadline = std::time::Instant::now() + LONG;
        let senders = [(tx1, 0), (tx2, 1)].map(|(tx, id)| {
            let drops = drops.clone();
            thread::spawn(move || tx.send_deadline(drops.item(id), deadline).is_ok())
        });
        // A sender that gave up and dropped its channel makes that receive ready with
        // `Disconnected`: taken nothing then.
        let taken = Select::new()
            .recv(&rx1, |v| v.ok().map(|v| v.id))
            .recv(&rx2, |v| v.ok().map(|v| v.id))
            .select_deadline(deadline)
            .ok()
            .flatten();
        let sent = senders.map(|sender| sender.join().unwrap());
        let expected = [0, 1].map(|id| taken == Some(id));
        assert_eq!(
            sent, expected,
            "senders' outcomes vs the select's {taken:?}"
        );
        drops.assert_all_dropped_once();
    });
}

/// A select blocked on an idle channel and a rendezvous channel is woken by a plain blocking
/// send on the latter, and takes its value.
#[test]
fn a_blocking_send_wakes_a_waiting_select() {
    explore("a_blocking_send_wakes_a_waiting_select", 10, || {
        let (tx, rx) = mpmc::channel(0);
        let (_idle_tx, idle) = mpmc::channel::<u8>(1);
        let sender = thread::spawn(move || tx.send(7u8).is_ok());
        let got = Select::new()
            .recv(&idle, |_| None)
            .recv(&rx, |v| v.ok())
            .select();
        assert!(sender.join().unwrap());
        assert_eq!(got, Some(7));
    });
}

/// The last sender of a rendezvous channel drops while a select waits on it (and on a
/// buffered channel that stays open): the select wakes with `Disconnected` for it.
#[test]
fn a_disconnection_wakes_a_waiting_select() {
    explore("a_disconnection_wakes_a_waiting_select", 5, || {
        let (tx, rx) = mpmc::channel::<u8>(0);
        let (_open_tx, open) = mpmc::channel::<u8>(1);
        let dropper = thread::spawn(move || drop(tx));
        let got = Select::new()
            .recv(&open, |_| "open")
            .recv(&rx, |v| if v.is_err() { "disconnected" } else { "value" })
            .select();
        dropper.join().unwrap();
        assert_eq!(got, "disconnected");
    });
}

/// A select sending on a rendezvous channel and one receiving from it (each also waiting on
/// an operation that never becomes ready) meet: neither waits forever for the other.
#[test]
fn two_selects_meet_on_a_rendezvous_channel() {
    explore("two_selects_meet_on_a_rendezvous_channel", 10, || {
        let drops = DropLog::new(2);
        let (tx, rx) = mpmc::channel(0);
        // Idle: nobody ever takes the other side of these while the selects run.
        let (idle_tx, idle_tx_peer) = mpmc::channel(0);
        let (idle_rx_peer, idle_rx) = mpmc::channel::<support::Tracked>(0);
        let sender = {
            let drops = drops.clone();
            thread::spawn(move || {
                let sent = Select::new()
                    .send(&tx, drops.item(0), |sent| sent.is_ok())
                    .recv(&idle_rx, |_| false)
                    .select();
                (sent, idle_rx)
            })
        };
        let got = Select::new()
            .send(&idle_tx, drops.item(1), |_| None)
            .recv(&rx, |v| v.ok().map(|v| v.id))
            .select();
        let sent = sender.join().unwrap().0;
        assert_eq!((sent, got), (true, Some(0)));
        drop((idle_tx_peer, idle_rx_peer));
        drops.assert_all_dropped_once();
    });
}
