//! Threads that wait take in what they wait for ([`Engine::guest_wait`]): no hop through
//! an engine thread between a datagram and the call waiting for it.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::engine::Engine;
use crate::tests::{client_config, listener};
use crate::{Error, Flags, QuicEndpoint, QuicPoll};

/// Round trips measured after the first.
const ROUNDS: usize = 20;

/// (socket reads by the engine thread, passes by guests) so far.
fn passes(e: &Engine) -> (usize, usize) {
    (
        e.passes[0].load(Ordering::Relaxed),
        e.passes[1].load(Ordering::Relaxed),
    )
}

/// A client blocked in `recv` and a server waiting in `QuicPoll::wait` each receive the
/// other's packets on their own thread: over 20 request/response exchanges after the
/// first, the engine threads read datagrams from their sockets at most 5 times (never,
/// unless a thread was kept off its core between its `send` and its wait), where before
/// each exchange cost both engine threads a read and a wake-up of the waiting thread.
/// Each side pauses before it sends, so that every packet finds its receiver waiting.
/// The server's `QuicPoll` is left as it comes: with light traffic its waits are guests.
#[test]
fn waiting_threads_receive_what_they_wait_for() {
    let (l, addr) = listener();
    let server = std::thread::spawn(move || {
        let s = l.accept().unwrap();
        s.set_nonblocking(true);
        let poll = QuicPoll::new();
        poll.register(&s, 7);
        let mut events = Vec::new();
        let mut buf = [0u8; 64];
        let mut answered = 0;
        let mut start = None;
        while answered <= ROUNDS {
            events.clear();
            poll.wait(&mut events, 8, Some(Duration::from_secs(10)));
            loop {
                match s.recv(&mut buf, Flags::NONE) {
                    Ok((n, id, _)) => {
                        std::thread::sleep(Duration::from_millis(10));
                        s.send(&buf[..n], id, Flags::NONE).unwrap();
                        answered += 1;
                        if answered == 1 {
                            start = Some(passes(s.engine()));
                        }
                    }
                    Err(Error::WouldBlock) => break,
                    Err(e) => panic!("server recv: {e}"),
                }
            }
        }
        let (engine0, guest0) = start.unwrap();
        let (engine1, guest1) = passes(s.engine());
        // Wait for the client to finish before closing.
        s.set_nonblocking(false);
        s.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = s.recv(&mut buf, Flags::NONE);
        (engine1 - engine0, guest1 - guest0)
    });
    // An endpoint of its own: the process's default one carries other tests' connections.
    let ep = QuicEndpoint::bind("127.0.0.1:0".parse().unwrap(), &Default::default()).unwrap();
    let c = ep.connect(addr, &client_config()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = [0u8; 64];
    let mut start = (0, 0);
    for round in 0..=ROUNDS {
        if round == 1 {
            start = passes(c.engine());
        }
        let new = if round == 0 {
            Flags::STREAM_NEW
        } else {
            Flags::NONE
        };
        c.send(format!("ping {round}").as_bytes(), 0, new).unwrap();
        let (n, _, _) = c.recv(&mut buf, Flags::NONE).unwrap();
        assert_eq!(&buf[..n], format!("ping {round}").as_bytes());
        std::thread::sleep(Duration::from_millis(20));
    }
    let (engine1, guest1) = passes(c.engine());
    let client = (engine1 - start.0, guest1 - start.1);
    c.send(b"", 0, Flags::STREAM_FIN).unwrap();
    let server = server.join().unwrap();
    println!("engine-thread socket reads, guest passes: client {client:?}, server {server:?}");
    for (side, (engine, guest)) in [("client", client), ("server", server)] {
        assert!(
            engine <= ROUNDS / 4,
            "{side}: the engine thread read {engine} times"
        );
        assert!(guest >= ROUNDS, "{side}: guests ran {guest} passes");
    }
}
