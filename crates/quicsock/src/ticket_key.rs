//! Session-ticket keys (Linux QUIC's SESSION_TICKET option on a server, reference §1.4):
//! a 64-byte master key from which TLS session tickets are sealed, so that servers sharing
//! the key, or one restarted with it, resume each other's sessions.
//!
//! Tickets are stateless then (RFC 8446 §4.6.1): the session travels in the ticket, sealed
//! with AES-256-GCM under a key derived from the master key by HKDF-SHA256 (RFC 5869),
//! with a random nonce for each ticket. rustls accepts 0-RTT only with stateful,
//! single-use tickets (replay protection), so a server with a ticket key resumes but takes
//! no early data. Rotate the master key to bound how long a stolen key decrypts recorded
//! tickets; tickets announce a lifetime of [`TICKET_LIFETIME`].

use std::sync::Arc;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

/// The lifetime tickets announce, in seconds (as rustls's own ticketer: six hours).
pub const TICKET_LIFETIME: u32 = 6 * 60 * 60;

/// The length of a master key, as Linux QUIC's SESSION_TICKET option gives it.
pub const TICKET_KEY_LEN: usize = 64;

/// The HKDF label of the AEAD key.
const LABEL: &[u8] = b"quicsock session ticket aes-256-gcm";

/// A session-ticket master key. Wiped when dropped.
pub struct TicketKey([u8; TICKET_KEY_LEN]);

impl TicketKey {
    /// A fresh key from the system CSPRNG.
    pub fn generate() -> Result<Self, aws_lc_rs::error::Unspecified> {
        let mut k = [0u8; TICKET_KEY_LEN];
        SystemRandom::new().fill(&mut k)?;
        Ok(Self(k))
    }

    /// A key given by the application (shared by servers, or kept across a restart).
    pub fn from_bytes(key: [u8; TICKET_KEY_LEN]) -> Self {
        Self(key)
    }

    /// The key's bytes (Linux QUIC's SESSION_TICKET option, server get).
    pub fn as_bytes(&self) -> &[u8; TICKET_KEY_LEN] {
        &self.0
    }

    fn aead(&self) -> LessSafeKey {
        let prk = Salt::new(HKDF_SHA256, &[]).extract(&self.0);
        let mut key = [0u8; 32];
        prk.expand(&[LABEL], &AES_256_GCM)
            .and_then(|okm| okm.fill(&mut key))
            .expect("HKDF-SHA256 yields 32 bytes");
        let aead = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).expect("a 32-byte key"));
        key.fill(0);
        aead
    }
}

impl Drop for TicketKey {
    fn drop(&mut self) {
        self.0.fill(0);
    }
}

impl std::fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TicketKey(..)")
    }
}

/// rustls's ticketer sealing with a [`TicketKey`].
struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer")
    }
}

impl rustls::server::ProducesTickets for Sealer {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        TICKET_LIFETIME
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).ok()?;
        let mut out = Vec::with_capacity(NONCE_LEN + plain.len() + AES_256_GCM.tag_len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plain);
        let (_, body) = out.split_at_mut(NONCE_LEN);
        let tag = self
            .key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), body)
            .ok()?;
        out.extend_from_slice(tag.as_ref());
        Some(out)
    }

    fn decrypt(&self, ticket: &[u8]) -> Option<Vec<u8>> {
        if ticket.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return None;
        }
        let (nonce, sealed) = ticket.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut body)
            .ok()?;
        let len = plain.len();
        body.truncate(len);
        Some(body)
    }
}

/// Seals the server's session tickets with `key` (Linux QUIC's SESSION_TICKET option,
/// server set): stateless resumption across servers or restarts that share it. Early data
/// is then refused (see the module documentation).
pub fn server_ticket_key(config: &mut Arc<rustls::ServerConfig>, key: &TicketKey) {
    let c = Arc::make_mut(config);
    c.ticketer = Arc::new(Sealer {
        key: key.aead(),
        rng: SystemRandom::new(),
    });
    c.max_early_data_size = 0;
}

#[cfg(test)]
mod tests {
    use rustls::server::ProducesTickets;

    use super::*;
    use crate::tests::{client_config, server_config};
    use crate::{QuicListener, QuicSocket};

    fn sealer(key: &TicketKey) -> Sealer {
        Sealer {
            key: key.aead(),
            rng: SystemRandom::new(),
        }
    }

    #[test]
    fn tickets_open_under_their_key_only_and_never_repeat_a_nonce() {
        let key = TicketKey::from_bytes([7; TICKET_KEY_LEN]);
        let s = sealer(&key);
        let a = s.encrypt(b"session state").unwrap();
        let b = s.encrypt(b"session state").unwrap();
        assert_ne!(a, b, "a fresh nonce per ticket");
        assert_eq!(a.len(), NONCE_LEN + 13 + 16);
        assert_eq!(s.decrypt(&a).as_deref(), Some(&b"session state"[..]));
        // The same master key elsewhere opens it; another key, a flipped bit or a short
        // ticket do not.
        assert!(sealer(&TicketKey::from_bytes([7; TICKET_KEY_LEN]))
            .decrypt(&a)
            .is_some());
        assert!(sealer(&TicketKey::generate().unwrap())
            .decrypt(&a)
            .is_none());
        let mut bad = a.clone();
        bad[NONCE_LEN] ^= 1;
        assert!(s.decrypt(&bad).is_none());
        assert!(s.decrypt(&a[..NONCE_LEN + 15]).is_none());
        assert!(s.decrypt(&[]).is_none());
    }

    fn listener_with(key: &TicketKey) -> (QuicListener, std::net::SocketAddr) {
        let mut config = server_config();
        server_ticket_key(&mut config.tls, key);
        let l = QuicListener::bind("127.0.0.1:0".parse().unwrap(), &config).unwrap();
        let addr = l.local_addr().unwrap();
        (l, addr)
    }

    /// Does a connection to a fresh server with `key` resume the client's session?
    fn resumes(client: &crate::ClientConfig, key: &TicketKey) -> bool {
        let (l, addr) = listener_with(key);
        let server = std::thread::spawn(move || l.accept());
        let sock = QuicSocket::connect(addr, client).unwrap();
        let accepted = server.join().unwrap().unwrap();
        let resumed = sock.is_resumed().unwrap();
        sock.wait_session_ticket().unwrap();
        sock.close().unwrap();
        drop(accepted);
        resumed
    }

    /// A server restarted with the same key (a new listener, a new port) resumes the
    /// sessions of the one before; with another key it cannot, and the handshake is full.
    #[test]
    fn servers_sharing_a_ticket_key_resume_each_others_sessions() {
        let key = TicketKey::generate().unwrap();
        let client = client_config();
        assert!(
            !resumes(&client, &key),
            "the first connection is a full handshake"
        );
        assert!(resumes(&client, &TicketKey::from_bytes(*key.as_bytes())));
        assert!(!resumes(&client, &TicketKey::generate().unwrap()));
    }
}
