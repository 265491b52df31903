//! Taking TLS secrets through rustls's key-log interface.
//!
//! rustls logs each traffic secret as it derives it, under the NSS key-log labels. A
//! [`SecretCapture`] installed as a connection's key log keeps them (and forwards every line
//! to the key log the application configured, for example `SSLKEYLOGFILE`), and the driver
//! hands them to the transport as (level, direction, secret).

use std::sync::{Arc, Mutex};

use quicsock_proto::conn::{Direction, Level};
use quicsock_proto::Side;
use rustls::KeyLog;

/// A secret rustls derived, mapped to the QUIC level and the side that writes with it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct CapturedSecret {
    pub(crate) level: Level,
    pub(crate) writer: Side,
    pub(crate) secret: Vec<u8>,
}

impl CapturedSecret {
    /// The direction of this secret for a connection on `side`.
    pub(crate) fn direction(&self, side: Side) -> Direction {
        if self.writer == side {
            Direction::Write
        } else {
            Direction::Read
        }
    }
}

impl std::fmt::Debug for CapturedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secret material.
        f.debug_struct("CapturedSecret")
            .field("level", &self.level)
            .field("writer", &self.writer)
            .finish_non_exhaustive()
    }
}

/// The QUIC level and writer of an NSS key-log label, for the labels QUIC uses.
pub(crate) fn classify(label: &str) -> Option<(Level, Side)> {
    Some(match label {
        "CLIENT_EARLY_TRAFFIC_SECRET" => (Level::ZeroRtt, Side::Client),
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => (Level::Handshake, Side::Client),
        "SERVER_HANDSHAKE_TRAFFIC_SECRET" => (Level::Handshake, Side::Server),
        "CLIENT_TRAFFIC_SECRET_0" => (Level::OneRtt, Side::Client),
        "SERVER_TRAFFIC_SECRET_0" => (Level::OneRtt, Side::Server),
        _ => return None,
    })
}

/// A key log that keeps the QUIC traffic secrets of one connection.
pub struct SecretCapture {
    secrets: Mutex<Vec<CapturedSecret>>,
    forward: Arc<dyn KeyLog>,
}

impl std::fmt::Debug for SecretCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretCapture").finish_non_exhaustive()
    }
}

impl SecretCapture {
    /// A capture that also forwards every line to `forward`.
    pub fn new(forward: Arc<dyn KeyLog>) -> Self {
        Self {
            secrets: Mutex::new(Vec::new()),
            forward,
        }
    }

    /// Takes the secrets captured so far, in the order rustls derived them.
    pub(crate) fn take(&self) -> Vec<CapturedSecret> {
        std::mem::take(&mut *self.secrets.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl KeyLog for SecretCapture {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        if let Some((level, writer)) = classify(label) {
            self.secrets
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(CapturedSecret {
                    level,
                    writer,
                    secret: secret.to_vec(),
                });
        }
        if self.forward.will_log(label) {
            self.forward.log(label, client_random, secret);
        }
    }

    fn will_log(&self, _label: &str) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_labels_and_forwards() {
        #[derive(Debug, Default)]
        struct Lines(Mutex<Vec<String>>);
        impl KeyLog for Lines {
            fn log(&self, label: &str, _: &[u8], _: &[u8]) {
                self.0.lock().unwrap().push(label.into());
            }
        }
        let lines = Arc::new(Lines::default());
        let c = SecretCapture::new(lines.clone());
        c.log("SERVER_HANDSHAKE_TRAFFIC_SECRET", &[0; 32], &[1; 32]);
        c.log("EXPORTER_SECRET", &[0; 32], &[2; 32]);
        c.log("CLIENT_TRAFFIC_SECRET_0", &[0; 32], &[3; 32]);
        let got = c.take();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].level, got[0].writer),
            (Level::Handshake, Side::Server)
        );
        assert_eq!(got[0].direction(Side::Client), Direction::Read);
        assert_eq!(
            (got[1].level, got[1].direction(Side::Client)),
            (Level::OneRtt, Direction::Write)
        );
        assert_eq!(got[1].secret, vec![3; 32]);
        assert_eq!(lines.0.lock().unwrap().len(), 3, "every line is forwarded");
        assert!(c.take().is_empty());
        assert!(!format!("{:?}", got[0]).contains("secret:"));
    }
}
