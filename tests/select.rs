//! Behaviour tests for `verisync::select` over every channel flavor, on std threads; the same
//! tests run under Miri (`concurrent_` ones with many seeds, as for `tests/mpmc.rs`).

#[path = "support/behaviour.rs"]
mod support;

use std::thread;
use std::time::{Duration, Instant};

use support::{DropLog, SETTLE, scaled, spawn_watched};
use verisync::mpmc::{RecvError, SendError, TryRecvError, TrySendError, channel, unbounded};
use verisync::select::Select;

#[derive(Debug, PartialEq)]
enum Got<T> {
    First(Result<T, RecvError>),
    Second(Result<T, RecvError>),
}

#[test]
fn try_select_completes_a_ready_receive_and_hands_itself_back_otherwise() {
    let (tx1, rx1) = channel::<u32>(2);
    let (tx2, rx2) = unbounded::<u32>();
    let select = Select::new().recv(&rx1, Got::First).recv(&rx2, Got::Second);
    let select = select.try_select().unwrap_err();
    tx2.send(7).unwrap();
    assert_eq!(select.try_select().unwrap(), Got::Second(Ok(7)));
    drop(tx1);
    let got = Select::new().recv(&rx1, Got::First).try_select().unwrap();
    assert_eq!(got, Got::First(Err(RecvError)));
}

#[test]
fn exactly_one_operation_completes_when_several_are_ready() {
    let (tx1, rx1) = channel(4);
    let (tx2, rx2) = channel(0);
    let (tx3, rx3) = verisync::spsc::channel(4);
    let (tx4, rx4) = unbounded();
    tx1.send(1).unwrap();
    tx3.send(3).unwrap();
    tx4.send(4).unwrap();
    let sender2 = spawn_watched("rendezvous sender", move || tx2.send(2));
    thread::sleep(SETTLE);
    let mut taken = Vec::new();
    for _ in 0..4 {
        let got = Select::new()
            .recv(&rx1, |v| v.unwrap())
            .recv(&rx2, |v| v.unwrap())
            .recv(&rx3, |v| v.unwrap())
            .recv(&rx4, |v| v.unwrap())
            .select();
        taken.push(got);
        let left = rx1.len() + rx3.len() + rx4.len();
        // Each select took exactly one value: the buffered ones left and those taken add up.
        assert_eq!(left + taken.len(), 3 + usize::from(taken.contains(&2)));
    }
    taken.sort();
    assert_eq!(taken, [1, 2, 3, 4]);
    assert_eq!(sender2.join(), Ok(()));
}

#[test]
fn a_send_that_loses_keeps_its_value_in_the_select() {
    let log = DropLog::new(2);
    let (full, full_rx) = channel(1);
    let (room, room_rx) = channel(1);
    full.send(log.item(0)).unwrap();
    let select = Select::new()
        .send(&full, log.item(1), |sent| sent.map_err(|_| "disconnected"))
        .send(&room, log.item(0), |sent| sent.map_err(|_| "disconnected"));
    assert_eq!(select.select(), Ok(()));
    // Value 1 lost the race and was dropped with the select; value 0's copy went to `room`.
    assert_eq!(log.drops(1), 1);
    assert_eq!(room_rx.len(), 1);
    drop((full_rx, room_rx));
}

#[test]
fn a_select_that_times_out_gives_back_its_unsent_values() {
    let (tx, _rx) = channel::<String>(0);
    let select = Select::new().send(&tx, "kept".to_owned(), |sent| sent.is_ok());
    let select = select
        .select_timeout(Duration::from_millis(20))
        .unwrap_err();
    let (_, late_rx) = (tx.clone(), _rx.clone());
    let taker = spawn_watched("late receiver", move || late_rx.recv());
    assert!(select.select());
    assert_eq!(taker.join().as_deref(), Ok("kept"));
}

#[test]
fn select_deadline_in_the_past_still_takes_what_is_ready() {
    let (tx, rx) = channel(1);
    let past = Instant::now() - Duration::from_millis(1);
    let empty = Select::new().recv(&rx, |v| v).select_deadline(past);
    let select = empty.unwrap_err();
    tx.send(5).unwrap();
    assert_eq!(select.select_deadline(past).ok(), Some(Ok(5)));
}

#[test]
fn select_timeout_waits_about_as_long_as_asked() {
    let (_tx, rx) = channel::<u8>(1);
    let (_tx2, rx2) = channel::<u8>(0);
    let begun = Instant::now();
    let outcome = Select::new()
        .recv(&rx, |v| v)
        .recv(&rx2, |v| v)
        .select_timeout(Duration::from_millis(30));
    assert!(outcome.is_err());
    assert!(begun.elapsed() >= Duration::from_millis(30));
}

#[test]
fn a_rendezvous_send_hands_its_value_straight_to_a_waiting_select() {
    let (tx, rx) = channel::<u32>(0);
    let (_idle_tx, idle) = channel::<u32>(1);
    let selector = spawn_watched("selector", move || {
        Select::new()
            .recv(&idle, Got::First)
            .recv(&rx, Got::Second)
            .select()
    });
    thread::sleep(SETTLE);
    // The select is waiting in the rendezvous line, so even `try_send` meets it.
    let mut value = 9;
    let deadline = Instant::now() + support::WATCHDOG;
    while let Err(TrySendError::Full(back)) = tx.try_send(value) {
        value = back;
        assert!(
            Instant::now() < deadline,
            "the select never joined the line"
        );
        thread::yield_now();
    }
    assert_eq!(selector.join(), Got::Second(Ok(9)));
}

#[test]
fn concurrent_two_selects_meet_on_a_rendezvous_channel() {
    for _ in 0..scaled(50, 3) {
        let (tx, rx) = channel::<u32>(0);
        let (_other_tx, other_rx) = channel::<u32>(0);
        let (other_tx2, _other_rx2) = channel::<u32>(0);
        let sender = spawn_watched("sending select", move || {
            Select::new()
                .send(&tx, 1, |sent| sent.is_ok())
                .send(&other_tx2, 2, |_| false)
                .select()
        });
        let got = Select::new()
            .recv(&other_rx, |_| None)
            .recv(&rx, |v| v.ok())
            .select();
        assert_eq!(got, Some(1));
        assert!(sender.join());
    }
}

#[test]
fn disconnection_wakes_a_waiting_select() {
    let (tx, rx) = channel::<u8>(0);
    let (tx2, rx2) = channel::<u8>(4);
    let selector = spawn_watched("selector", move || {
        Select::new()
            .recv(&rx, Got::First)
            .recv(&rx2, Got::Second)
            .select()
    });
    thread::sleep(SETTLE);
    drop(tx);
    let got = selector.join();
    assert_eq!(got, Got::First(Err(RecvError)));
    drop(tx2);

    // The receiver's drop wakes the sending select while it runs, so the send overlaps the
    // drop: it gets its value back, or (std semantics, see `mpmc`'s "Drop") succeeds and the
    // channel drops the value. Either way the select wakes, and the value dies exactly once.
    let log = DropLog::new(2);
    let (tx, rx) = channel(1);
    tx.send(log.item(0)).unwrap();
    let value = log.item(1);
    let sender = spawn_watched("sending select", move || {
        Select::new()
            .send(&tx, value, |sent| sent.err().map(|SendError(back)| back.id))
            .select()
    });
    thread::sleep(SETTLE);
    drop(rx);
    let back = sender.join();
    assert!(matches!(back, None | Some(1)), "got {back:?} back");
    log.assert_all_dropped_once();
}

#[test]
fn a_select_can_send_and_receive_on_one_rendezvous_channel() {
    let (tx, rx) = channel::<u8>(0);
    let (peer_tx, peer_rx) = (tx.clone(), rx.clone());
    let peer = spawn_watched("peer", move || peer_rx.recv());
    let sent = Select::new()
        .send(&tx, 4, |sent| sent.is_ok())
        .recv(&rx, |_| false)
        .select();
    assert!(sent, "the select cannot meet itself");
    assert_eq!(peer.join(), Ok(4));
    drop(peer_tx);
}

#[test]
fn every_ready_channel_gets_its_turn() {
    let (tx1, rx1) = unbounded();
    let (tx2, rx2) = unbounded();
    let rounds = scaled(1000, 40);
    for i in 0..rounds {
        tx1.send(i).unwrap();
        tx2.send(i).unwrap();
    }
    let mut firsts = 0;
    for _ in 0..rounds {
        let first = Select::new()
            .recv(&rx1, |_| true)
            .recv(&rx2, |_| false)
            .select();
        firsts += usize::from(first);
    }
    assert!(
        firsts >= rounds / 4 && firsts <= rounds * 3 / 4,
        "{firsts} of {rounds} selects took the first channel"
    );
}

#[test]
#[should_panic(expected = "no operations")]
fn an_empty_select_refuses_to_wait_forever() {
    Select::<()>::new().select();
}

#[test]
fn an_empty_try_select_finds_nothing_ready() {
    assert!(Select::<()>::new().try_select().is_err());
    let select = Select::<()>::new().select_timeout(Duration::from_millis(1));
    assert_eq!(
        format!("{:?}", select.unwrap_err()),
        "Select { operations: 0, .. }"
    );
}

/// Producers on channels of every flavor, consumers selecting over all of them: every value
/// arrives exactly once.
#[test]
fn concurrent_selects_take_every_value_exactly_once() {
    let per_producer = scaled(2000, 40);
    let (btx, brx) = channel(4);
    let (utx, urx) = unbounded();
    let (ztx, zrx) = channel(0);
    let (stx, srx) = verisync::spsc::channel(4);
    let producers = [
        thread::spawn(move || (0..per_producer).for_each(|i| btx.send(i).unwrap())),
        thread::spawn(move || (0..per_producer).for_each(|i| utx.send(1 << 20 | i).unwrap())),
        thread::spawn(move || (0..per_producer).for_each(|i| ztx.send(2 << 20 | i).unwrap())),
        thread::spawn(move || (0..per_producer).for_each(|i| stx.send(3 << 20 | i).unwrap())),
    ];
    let consumer = {
        let (brx, urx, zrx) = (brx.clone(), urx.clone(), zrx.clone());
        spawn_watched("selecting consumer", move || {
            let mut got = Vec::new();
            while let Some(v) = Select::new()
                .recv(&brx, Result::ok)
                .recv(&urx, Result::ok)
                .recv(&zrx, Result::ok)
                .select_timeout(Duration::from_millis(200))
                .ok()
                .flatten()
            {
                got.push(v);
            }
            got
        })
    };
    let mut mine = Vec::new();
    let mut open = [true; 4];
    while open.iter().any(|o| *o) {
        let (which, value) = Select::new()
            .recv(&brx, |v| (0, v))
            .recv(&urx, |v| (1, v))
            .recv(&zrx, |v| (2, v))
            .recv(&srx, |v| (3, v))
            .select();
        match value {
            Ok(v) => mine.push(v),
            Err(RecvError) => {
                open[which] = false;
                if open.iter().any(|o| *o) {
                    // A disconnected channel stays ready; go on with the others only.
                    mine.extend(drain_open(&open, &brx, &urx, &zrx, &srx));
                }
            }
        }
    }
    producers.into_iter().for_each(|p| p.join().unwrap());
    mine.extend(consumer.join());
    mine.sort_unstable();
    let expected: Vec<usize> = (0..4)
        .flat_map(|p| (0..per_producer).map(move |i| p << 20 | i))
        .collect();
    assert_eq!(mine, expected);
}

/// Receives from the channels still open until all of them disconnect.
fn drain_open(
    open: &[bool; 4],
    brx: &verisync::mpmc::Receiver<usize>,
    urx: &verisync::mpmc::Receiver<usize>,
    zrx: &verisync::mpmc::Receiver<usize>,
    srx: &verisync::spsc::Receiver<usize>,
) -> Vec<usize> {
    let mut got = Vec::new();
    let blocking: [&dyn Fn() -> Result<usize, RecvError>; 4] =
        [&|| brx.recv(), &|| urx.recv(), &|| zrx.recv(), &|| {
            srx.recv()
        }];
    for (which, recv) in blocking.iter().enumerate() {
        if open[which] {
            while let Ok(v) = recv() {
                got.push(v);
            }
        }
    }
    got
}

#[test]
fn try_recv_after_a_select_sees_the_rest() {
    let (tx, rx) = channel(4);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!(Select::new().recv(&rx, |v| v).select(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn recv_each_waits_on_a_set_known_at_run_time() {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..5).map(|_| channel::<usize>(0)).unzip();
    let (_idle_tx, idle) = channel::<usize>(1);
    let sender = spawn_watched("sender to channel 3", move || senders[3].send(30));
    let got = Select::new()
        .recv(&idle, |_| None)
        .recv_each(&receivers, |i, v| Some((i, v.unwrap())))
        .recv_each(&[] as &[verisync::mpmc::Receiver<usize>], |_, _| None)
        .select();
    assert_eq!(got, Some((3, 30)));
    assert_eq!(sender.join(), Ok(()));
}
