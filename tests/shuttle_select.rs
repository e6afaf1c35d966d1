//! shuttle schedules of `verisync::select` with four threads over two channels of random
//! flavors (rendezvous, bounded, unbounded): a producer that sends by select, one that sends
//! plainly, a consumer that receives by select until both channels disconnect, and one that
//! receives plainly and may leave early; endpoints drop as their threads finish.
//!
//! shuttle reports a deadlock when every thread is blocked, so a lost wake-up of a waiting
//! select fails the test; a drop-counting payload catches values lost or doubled. Weak-memory
//! bugs are loom's job (`tests/loom_select.rs`).
//!
//! Run: `RUSTFLAGS="--cfg verisync_shuttle" cargo test --release --target-dir target/shuttle --test shuttle_select`.
#![cfg(verisync_shuttle)]

#[path = "support/shuttle.rs"]
mod support;

use shuttle::rand::{Rng, thread_rng};
use shuttle::thread;
use support::{DropLog, Scheduler, Tracked, run};
use verisync::mpmc::{self, Receiver, Sender};
use verisync::select::Select;

/// Rounds of the selecting producer (two values made per round, one per channel) and values
/// of the plain one.
const ROUNDS: usize = 3;

/// A channel of a random flavor: rendezvous, bounded at 1 or 2, or unbounded.
fn any_channel(flavor: usize) -> (Sender<Tracked>, Receiver<Tracked>) {
    match flavor {
        3 => mpmc::unbounded(),
        capacity => mpmc::channel(capacity),
    }
}

fn two_channels_with_selects() {
    let mut rng = thread_rng();
    let flavors = [rng.gen_range(0..=3), rng.gen_range(0..=3)];
    // Ids: the selecting producer's round r makes 2r (channel 0) and 2r + 1 (channel 1); the
    // plain producer's values are 2 * ROUNDS onwards.
    let drops = DropLog::new(3 * ROUNDS);
    let (tx0, rx0) = any_channel(flavors[0]);
    let (tx1, rx1) = any_channel(flavors[1]);
    let selecting_producer = {
        let (tx0, tx1, drops) = (tx0.clone(), tx1.clone(), drops.clone());
        thread::spawn(move || {
            (0..ROUNDS)
                .filter_map(|round| {
                    let sent = |id| move |sent: Result<(), _>| sent.is_ok().then_some(id);
                    Select::new()
                        .send(&tx0, drops.item(2 * round), sent(2 * round))
                        .send(&tx1, drops.item(2 * round + 1), sent(2 * round + 1))
                        .select()
                })
                .collect::<Vec<_>>()
        })
    };
    let plain_producer = {
        let drops = drops.clone();
        let (tx, other) = if rng.gen_bool(0.5) {
            (tx0, tx1)
        } else {
            (tx1, tx0)
        };
        drop(other);
        thread::spawn(move || {
            (2 * ROUNDS..3 * ROUNDS)
                .filter(|&id| tx.send(drops.item(id)).is_ok())
                .collect::<Vec<_>>()
        })
    };
    let selecting_consumer = {
        let (rx0, rx1) = (rx0.clone(), rx1.clone());
        thread::spawn(move || {
            let mut received = Vec::new();
            loop {
                let got = Select::new()
                    .recv(&rx0, |v| (0, v.map(|v| v.id)))
                    .recv(&rx1, |v| (1, v.map(|v| v.id)))
                    .select();
                match got {
                    (_, Ok(id)) => received.push(id),
                    // One channel is drained and disconnected: the other, plainly.
                    (closed, Err(_)) => {
                        let open = if closed == 0 { &rx1 } else { &rx0 };
                        received.extend(open.iter().map(|v| v.id));
                        return received;
                    }
                }
            }
        })
    };
    let leaves_after = rng.gen_bool(0.5).then(|| rng.gen_range(0..=2));
    let plain_consumer = thread::spawn(move || {
        let mut received = Vec::new();
        while leaves_after.is_none_or(|limit| received.len() < limit) {
            match rx1.recv() {
                Ok(value) => received.push(value.id),
                Err(_) => break,
            }
        }
        received
    });
    drop(rx0);
    let mut accepted = selecting_producer.join().unwrap();
    accepted.extend(plain_producer.join().unwrap());
    let mut received = selecting_consumer.join().unwrap();
    received.extend(plain_consumer.join().unwrap());

    let context = format!("flavors {flavors:?} (3: unbounded), leaves after {leaves_after:?}");
    accepted.sort_unstable();
    received.sort_unstable();
    // The selecting consumer stays until both channels disconnect, so every value sent
    // arrives, exactly once.
    assert_eq!(received, accepted, "received vs sent; {context}");
    assert_eq!(
        accepted.len(),
        2 * ROUNDS,
        "a send failed with receivers alive; {context}"
    );
    drops.assert_all_dropped_once_after(&context);
}

#[test]
fn select_random_schedules() {
    run(
        "select_random_schedules",
        Scheduler::Random,
        two_channels_with_selects,
    );
}

#[test]
fn select_pct_schedules() {
    run(
        "select_pct_schedules",
        Scheduler::Pct,
        two_channels_with_selects,
    );
}
