//! Which descriptors are QUIC sockets: the one table from a descriptor number the program
//! holds to the [`Quic`] socket behind it.
//!
//! Every interposed call asks [`lookup`] first, so the question is answered without a
//! lock for the descriptors that are not QUIC sockets (nearly all of them: the program's
//! files, quicsock's own UDP sockets and pollable ends): a bit per descriptor number says
//! whether the table may hold it. The table's lock is taken only to look up, insert or
//! remove, and is never held across a blocking call or while a socket is dropped.
//!
//! Several numbers may name one socket (`dup`); the socket closes when the last goes.
//! A forked child that does not exec finds its parent's QUIC sockets without the threads
//! that ran them: every call on them fails with EBADF, and closing them only forgets them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use libc::c_int;

use crate::quic::Quic;

/// Descriptor numbers below this have a bit; larger ones always ask the table.
const MARKED: usize = 1 << 20;

static MARKS: [AtomicU64; MARKED / 64] = [const { AtomicU64::new(0) }; MARKED / 64];

static TABLE: RwLock<Option<HashMap<c_int, Arc<Quic>>>> = RwLock::new(None);

/// Serializes the calls that change which numbers name which socket (socket, close, the
/// dups, connect, listen), so that a number is never half-registered.
static CHANGES: Mutex<()> = Mutex::new(());

fn mark(fd: c_int, on: bool) {
    let Ok(i) = usize::try_from(fd) else { return };
    if i < MARKED {
        let bit = 1u64 << (i % 64);
        if on {
            MARKS[i / 64].fetch_or(bit, Ordering::SeqCst);
        } else {
            MARKS[i / 64].fetch_and(!bit, Ordering::SeqCst);
        }
    }
}

fn marked(fd: c_int) -> bool {
    match usize::try_from(fd) {
        Ok(i) if i < MARKED => MARKS[i / 64].load(Ordering::SeqCst) & (1u64 << (i % 64)) != 0,
        Ok(_) => true,
        Err(_) => false,
    }
}

/// What a descriptor number is.
pub(crate) enum Found {
    /// Not a QUIC socket: the call goes to libc.
    Other,
    /// A QUIC socket of this process.
    Quic(Arc<Quic>),
    /// A QUIC socket of the parent process (this one forked and did not exec).
    Inherited,
}

/// The QUIC socket `fd` names, if it is one.
pub(crate) fn lookup(fd: c_int) -> Found {
    if !marked(fd) {
        return Found::Other;
    }
    let table = TABLE.read().unwrap_or_else(|e| e.into_inner());
    match table.as_ref().and_then(|t| t.get(&fd)) {
        None => Found::Other,
        Some(q) if q.pid == std::process::id() => Found::Quic(q.clone()),
        Some(_) => Found::Inherited,
    }
}

/// Holds off other changes of the table while one call makes its own.
pub(crate) fn changing() -> MutexGuard<'static, ()> {
    CHANGES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Makes `fd` name `q`.
pub(crate) fn insert(fd: c_int, q: Arc<Quic>) {
    let mut table = TABLE.write().unwrap_or_else(|e| e.into_inner());
    table.get_or_insert_with(HashMap::new).insert(fd, q);
    mark(fd, true);
}

/// Forgets `fd`, and hands back the socket it named for the caller to drop outside the
/// lock.
pub(crate) fn remove(fd: c_int) -> Option<Arc<Quic>> {
    let mut table = TABLE.write().unwrap_or_else(|e| e.into_inner());
    let q = table.as_mut()?.remove(&fd);
    mark(fd, false);
    q
}

/// Drops a socket that [`remove`] handed back: the last number of a connection closes
/// it ([`Quic::close`]). A child's copy of its parent's socket is forgotten instead: the
/// threads that would close it are the parent's.
pub(crate) fn release(q: Arc<Quic>) {
    if q.pid != std::process::id() {
        std::mem::forget(q);
        return;
    }
    if let Ok(q) = Arc::try_unwrap(q) {
        q.close();
    }
}

/// Forgets every QUIC socket of this process and closes them, as the process exits: what
/// the program sent and did not see acknowledged yet is delivered first (at most the
/// linger time), since no kernel sends it after the process is gone.
pub(crate) extern "C" fn close_all_at_exit() {
    let all: Vec<Arc<Quic>> = {
        let _change = changing();
        let mut table = TABLE.write().unwrap_or_else(|e| e.into_inner());
        let Some(t) = table.as_mut() else { return };
        let fds: Vec<c_int> = t.keys().copied().collect();
        for fd in &fds {
            mark(*fd, false);
        }
        t.drain().map(|(_, q)| q).collect()
    };
    if !all.is_empty() {
        close_on_a_thread(all);
    }
    // The engines would go on running while exit() runs the crypto library's destructors.
    quicsock::quiesce();
}

/// Closes `all` on a thread of its own and waits for it.
fn close_on_a_thread(all: Vec<Arc<Quic>>) {
    // exit() has run this thread's thread-local destructors already, and quicsock uses
    // thread-locals: the closing runs on a thread of its own.
    let closing = std::thread::Builder::new()
        .name("quicsock-exit".into())
        .spawn(move || {
            for q in all {
                release(q);
            }
        });
    if let Ok(t) = closing {
        let _ = t.join();
    }
}
