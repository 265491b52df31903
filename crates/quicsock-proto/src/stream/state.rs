//! The stream state machines of RFC 9000 §3 as types: every transition is a named method
//! that refuses what the RFC does not allow.

/// A transition the state machine does not allow from the current state.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("stream state does not allow this")]
pub struct InvalidTransition;

/// The sending part of a stream (RFC 9000 §3.1, Figure 2).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SendState {
    /// Created; nothing sent yet.
    Ready,
    /// Sending data.
    Send,
    /// The FIN was sent; waiting for every byte to be acknowledged.
    DataSent,
    /// Every byte and the FIN were acknowledged (terminal).
    DataRecvd,
    /// RESET_STREAM was sent; waiting for its acknowledgement.
    ResetSent,
    /// RESET_STREAM was acknowledged (terminal).
    ResetRecvd,
}

impl SendState {
    /// Data was (or is about to be) sent.
    pub fn on_send(&mut self) -> Result<(), InvalidTransition> {
        match self {
            Self::Ready | Self::Send => *self = Self::Send,
            _ => return Err(InvalidTransition),
        }
        Ok(())
    }

    /// The FIN was sent.
    pub fn on_send_fin(&mut self) -> Result<(), InvalidTransition> {
        match self {
            Self::Ready | Self::Send | Self::DataSent => *self = Self::DataSent,
            _ => return Err(InvalidTransition),
        }
        Ok(())
    }

    /// All data and the FIN were acknowledged.
    pub fn on_all_acked(&mut self) -> Result<(), InvalidTransition> {
        match self {
            Self::DataSent => *self = Self::DataRecvd,
            _ => return Err(InvalidTransition),
        }
        Ok(())
    }

    /// RESET_STREAM is sent (the application reset, or the peer sent STOP_SENDING).
    pub fn on_reset(&mut self) -> Result<(), InvalidTransition> {
        match self {
            Self::Ready | Self::Send | Self::DataSent => *self = Self::ResetSent,
            _ => return Err(InvalidTransition),
        }
        Ok(())
    }

    /// RESET_STREAM was acknowledged.
    pub fn on_reset_acked(&mut self) -> Result<(), InvalidTransition> {
        match self {
            Self::ResetSent => *self = Self::ResetRecvd,
            _ => return Err(InvalidTransition),
        }
        Ok(())
    }

    /// Whether the state is terminal.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::DataRecvd | Self::ResetRecvd)
    }

    /// Whether the application may still write.
    pub fn is_writable(self) -> bool {
        matches!(self, Self::Ready | Self::Send)
    }
}

/// The receiving part of a stream (RFC 9000 §3.2, Figure 3).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RecvState {
    /// Receiving data; the final size is unknown.
    Recv,
    /// The final size is known; data is still missing.
    SizeKnown,
    /// Every byte up to the final size arrived.
    DataRecvd,
    /// The application read everything (terminal).
    DataRead,
    /// RESET_STREAM arrived.
    ResetRecvd,
    /// The application was told of the reset (terminal).
    ResetRead,
}

impl RecvState {
    /// A frame carrying the FIN arrived.
    pub fn on_fin(&mut self) -> Result<(), InvalidTransition> {
        match self {
            Self::Recv | Self::SizeKnown => *self = Self::SizeKnown,
            _ => return Err(InvalidTransition),
        }
        Ok(())
    }

    /// Every byte up to the final size arrived.
    pub fn on_all_received(&mut self) -> Result<(), InvalidTransition> {
        match self {
            Self::SizeKnown => *self = Self::DataRecvd,
            _ => return Err(InvalidTransition),
        }
        Ok(())
    }

    /// The application read the last byte.
    pub fn on_all_read(&mut self) -> Result<(), InvalidTransition> {
        match self {
            Self::DataRecvd => *self = Self::DataRead,
            _ => return Err(InvalidTransition),
        }
        Ok(())
    }

    /// RESET_STREAM arrived. After all data arrived a reset may be ignored (§3.2); we
    /// then keep the data.
    pub fn on_reset(&mut self) -> Result<(), InvalidTransition> {
        match self {
            Self::Recv | Self::SizeKnown => *self = Self::ResetRecvd,
            _ => return Err(InvalidTransition),
        }
        Ok(())
    }

    /// The application observed the reset.
    pub fn on_reset_read(&mut self) -> Result<(), InvalidTransition> {
        match self {
            Self::ResetRecvd => *self = Self::ResetRead,
            _ => return Err(InvalidTransition),
        }
        Ok(())
    }

    /// Whether the state is terminal.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::DataRead | Self::ResetRead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The transition tables, written out: each row is a state and which methods succeed.
    #[test]
    fn send_transition_table() {
        type Step = fn(&mut SendState) -> Result<(), InvalidTransition>;
        let steps: [(&str, Step); 5] = [
            ("send", SendState::on_send),
            ("fin", SendState::on_send_fin),
            ("acked", SendState::on_all_acked),
            ("reset", SendState::on_reset),
            ("reset_acked", SendState::on_reset_acked),
        ];
        let states = [
            SendState::Ready,
            SendState::Send,
            SendState::DataSent,
            SendState::DataRecvd,
            SendState::ResetSent,
            SendState::ResetRecvd,
        ];
        let table: Vec<String> = states
            .iter()
            .map(|s| {
                let ok: Vec<&str> = steps
                    .iter()
                    .filter(|(_, f)| f(&mut s.clone()).is_ok())
                    .map(|(n, _)| *n)
                    .collect();
                format!("{s:?}: {}", ok.join(" "))
            })
            .collect();
        assert_eq!(
            table,
            [
                "Ready: send fin reset",
                "Send: send fin reset",
                "DataSent: fin acked reset",
                "DataRecvd: ",
                "ResetSent: reset_acked",
                "ResetRecvd: ",
            ]
        );
    }

    #[test]
    fn recv_transition_table() {
        type Step = fn(&mut RecvState) -> Result<(), InvalidTransition>;
        let steps: [(&str, Step); 5] = [
            ("fin", RecvState::on_fin),
            ("all_received", RecvState::on_all_received),
            ("all_read", RecvState::on_all_read),
            ("reset", RecvState::on_reset),
            ("reset_read", RecvState::on_reset_read),
        ];
        let states = [
            RecvState::Recv,
            RecvState::SizeKnown,
            RecvState::DataRecvd,
            RecvState::DataRead,
            RecvState::ResetRecvd,
            RecvState::ResetRead,
        ];
        let table: Vec<String> = states
            .iter()
            .map(|s| {
                let ok: Vec<&str> = steps
                    .iter()
                    .filter(|(_, f)| f(&mut s.clone()).is_ok())
                    .map(|(n, _)| *n)
                    .collect();
                format!("{s:?}: {}", ok.join(" "))
            })
            .collect();
        assert_eq!(
            table,
            [
                "Recv: fin reset",
                "SizeKnown: fin all_received reset",
                "DataRecvd: all_read",
                "DataRead: ",
                "ResetRecvd: reset_read",
                "ResetRead: ",
            ]
        );
    }
}
