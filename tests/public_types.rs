//! Properties every public type has. Each is `UnwindSafe` and `RefUnwindSafe`, whatever its
//! payload, as std's channel endpoints and crossbeam's `ArrayQueue` are: no invariant of verisync's is left broken
//! by a panic that unwinds through one of its operations (a panicking `Drop` or `Clone` of a
//! value, a panicking iterator fed to a batch, a panicking task), so
//! `std::panic::catch_unwind(|| tx.send(1))` compiles.
//!
//! The checks are at compile time: this file only builds if every bound holds. A test also
//! runs the std idiom the bounds exist for, and one checks that the receiver iterators are
//! `Debug` for any payload, as the endpoints are.

use std::panic::{RefUnwindSafe, UnwindSafe};

use verisync::{bounded_log, error, error_collector, fanout, mpmc, mpsc, semaphore, spsc};

/// A payload that is neither `UnwindSafe` nor `RefUnwindSafe` (a closure with unique access to
/// some state), so the bounds below cannot come from the payload's own.
type Fragile = Box<dyn FnMut() + Send>;

fn unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}

#[test]
fn every_public_type_is_unwind_safe() {
    unwind_safe::<spsc::Sender<Fragile>>();
    unwind_safe::<spsc::Receiver<Fragile>>();
    unwind_safe::<spsc::WriteChunk<'static, Fragile>>();
    unwind_safe::<spsc::ReadChunk<'static, Fragile>>();
    unwind_safe::<spsc::Iter<'static, Fragile>>();
    unwind_safe::<spsc::TryIter<'static, Fragile>>();
    unwind_safe::<spsc::IntoIter<Fragile>>();

    unwind_safe::<mpmc::Queue<Fragile>>();
    unwind_safe::<mpmc::Sender<Fragile>>();
    unwind_safe::<mpmc::Receiver<Fragile>>();
    unwind_safe::<mpmc::Iter<'static, Fragile>>();
    unwind_safe::<mpmc::TryIter<'static, Fragile>>();
    unwind_safe::<mpmc::IntoIter<Fragile>>();

    unwind_safe::<mpsc::Sender<Fragile>>();
    unwind_safe::<mpsc::SyncSender<Fragile>>();
    unwind_safe::<mpsc::Receiver<Fragile>>();

    unwind_safe::<bounded_log::BoundedLog<Fragile>>();
    // Plain data, like `Vec<T>`: unwind-safe when its items are.
    unwind_safe::<bounded_log::ReadSince<u64>>();

    unwind_safe::<semaphore::Semaphore>();
    unwind_safe::<semaphore::Permit<'static>>();
    // OWNED
    unwind_safe::<semaphore::AcquireError>();
    unwind_safe::<semaphore::TryAcquireError>();
    unwind_safe::<semaphore::AcquireTimeoutError>();
    unwind_safe::<semaphore::TooManyPermits>();

    unwind_safe::<error_collector::ErrorCollector<Fragile>>();
    // Plain data, like `Vec<E>`: unwind-safe when its errors are.
    unwind_safe::<error_collector::Errors<String>>();

    unwind_safe::<fanout::Group<'static, 'static, Fragile>>();

    unwind_safe::<error::SendTimeoutError<u64>>();
    unwind_safe::<error::CapacityError>();
}

/// Not a payload bound: the receivers are `Debug` for any `T`, and so are their iterators.
struct NotDebug;

#[test]
fn receiver_iterators_are_debug_for_any_payload() {
    let (_tx, rx) = spsc::channel::<NotDebug>(1);
    assert!(format!("{:?}", rx.iter()).starts_with("Iter"));
    assert!(format!("{:?}", rx.try_iter()).starts_with("TryIter"));
    assert!(format!("{:?}", rx.into_iter()).starts_with("IntoIter"));
    let (_tx, rx) = mpmc::channel::<NotDebug>(1);
    assert!(format!("{:?}", rx.iter()).starts_with("Iter"));
    assert!(format!("{:?}", rx.try_iter()).starts_with("TryIter"));
    assert!(format!("{:?}", rx.into_iter()).starts_with("IntoIter"));
}

/// Every endpoint, chunk and queue prints its counts, whatever the payload.
#[test]
fn endpoints_print_their_counts_for_any_payload() {
    let (mut tx, mut rx) = spsc::channel::<NotDebug>(4);
    assert_eq!(format!("{tx:?}"), "Sender { capacity: 4, .. }");
    assert_eq!(format!("{rx:?}"), "Receiver { capacity: 4, .. }");
    let mut chunk = tx.write_chunk(3);
    assert!(chunk.push(NotDebug).is_ok());
    assert_eq!(format!("{chunk:?}"), "WriteChunk { len: 2, written: 1 }");
    drop(chunk);
    assert_eq!(format!("{:?}", rx.read_chunk(4)), "ReadChunk { len: 1 }");
    let (tx, rx) = mpmc::channel::<NotDebug>(2);
    assert_eq!(format!("{tx:?}"), "Sender { capacity: Some(2), .. }");
    assert_eq!(format!("{rx:?}"), "Receiver { capacity: Some(2), .. }");
    let (tx, rx) = mpmc::unbounded::<NotDebug>();
    assert_eq!(format!("{tx:?}"), "Sender { capacity: None, .. }");
    assert_eq!(format!("{rx:?}"), "Receiver { capacity: None, .. }");
    let queue = mpmc::Queue::<NotDebug>::new(3);
    assert!(queue.push(NotDebug).is_ok());
    assert_eq!(format!("{queue:?}"), "Queue { len: 1, capacity: 3, .. }");
}

#[test]
fn a_send_compiles_and_runs_inside_catch_unwind() {
    let (tx, rx) = mpmc::channel(1);
    assert_eq!(std::panic::catch_unwind(|| tx.send(1)).ok(), Some(Ok(())));
    assert_eq!(std::panic::catch_unwind(|| rx.recv()).ok(), Some(Ok(1)));
    let (tx, rx) = spsc::channel(1);
    assert_eq!(std::panic::catch_unwind(|| tx.send(1)).ok(), Some(Ok(())));
    assert_eq!(std::panic::catch_unwind(|| rx.recv()).ok(), Some(Ok(1)));
}

fn send_and_sync<T: Send + Sync>() {}

/// `verisync::mpsc`'s endpoints are `Send` and `Sync` whenever std's are (`T: Send`), so that
/// they fit wherever std's fit.
#[test]
fn mpsc_endpoints_are_send_and_sync_as_std_senders_are() {
    send_and_sync::<std::sync::mpsc::Sender<std::cell::Cell<u8>>>();
    send_and_sync::<std::sync::mpsc::SyncSender<std::cell::Cell<u8>>>();
    send_and_sync::<mpsc::Sender<std::cell::Cell<u8>>>();
    send_and_sync::<mpsc::SyncSender<std::cell::Cell<u8>>>();
    send_and_sync::<mpsc::Receiver<std::cell::Cell<u8>>>();
}
