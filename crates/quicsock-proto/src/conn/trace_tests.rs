//! The qlog trace of a lossy transfer, parsed back: a valid JSON-SEQ file whose events
//! match the connection's own counters.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::qlog::{QlogSink, RECORD_SEPARATOR};
use crate::sim::{LinkConfig, Pair, PairConfig};

struct Shared(Arc<Mutex<Vec<u8>>>);

impl QlogSink for Shared {
    fn record(&mut self, record: &[u8]) {
        self.0.lock().unwrap().extend_from_slice(record);
    }
}

#[test]
fn a_qlog_trace_matches_the_transfer() {
    let link = LinkConfig {
        loss: 0.02,
        ..LinkConfig::default()
    };
    let cfg = PairConfig::new(41, link);
    let mut pair = Pair::new(&cfg);
    let h = pair.connect(&cfg);
    let out = Arc::new(Mutex::new(Vec::new()));
    let now = pair.now;
    pair.client_conn(h)
        .set_qlog(Box::new(Shared(out.clone())), now);
    let data = vec![5u8; 1 << 20];
    let mut id = None;
    let mut written = 0;
    let mut got = 0;
    let mut buf = vec![0u8; 65536];
    let done = pair.run_until(Duration::from_secs(60), |p| {
        let now = p.now;
        let c = p.client_conn(h);
        if id.is_none() && c.is_handshake_complete() {
            id = c.open_stream(crate::Dir::Bi).ok();
        }
        let Some(id) = id else {
            return false;
        };
        crate::sim::write_pending(c, id, &data, &mut written);
        if let Some(s) = p.server_conn() {
            while let Ok(r) = s.read(now, id, &mut buf) {
                got += r.len;
                if r.len == 0 {
                    break;
                }
            }
        }
        got == data.len()
    });
    assert!(done);
    // Then the connection idles until its idle timeout closes it: the trace's last record.
    let closed = pair.run_until(Duration::from_secs(120), |p| p.client_conn(h).is_closed());
    assert!(closed);
    let stats = pair.client_conn(h).stats();
    let bytes = out.lock().unwrap().clone();
    assert_eq!(bytes[0], RECORD_SEPARATOR);
    let records: Vec<serde_json::Value> = bytes
        .split(|b| *b == RECORD_SEPARATOR)
        .filter(|r| !r.is_empty())
        .map(|r| serde_json::from_slice(r).expect("each record is JSON"))
        .collect();
    assert_eq!(records[0]["qlog_format"], "JSON-SEQ");
    assert_eq!(records[0]["trace"]["vantage_point"]["type"], "client");
    let count = |name: &str| records.iter().filter(|r| r["name"] == name).count() as u64;
    println!(
        "events: {} records, {} sent, {} received, {} lost, {} metrics, {} congestion",
        records.len(),
        count("transport:packet_sent"),
        count("transport:packet_received"),
        count("recovery:packet_lost"),
        count("recovery:metrics_updated"),
        count("recovery:congestion_state_updated"),
    );
    assert_eq!(count("transport:packet_sent"), stats.packets_sent);
    assert_eq!(count("transport:packet_received"), stats.packets_received);
    assert_eq!(
        count("recovery:packet_lost"),
        stats.packets_lost + u64::from(stats.pmtu_probes[2])
    );
    assert_eq!(count("transport:parameters_set"), 2);
    assert!(count("recovery:metrics_updated") > 10);
    assert!(
        count("recovery:congestion_state_updated") >= 2,
        "slow start, then recovery"
    );
    // Every byte of the stream went out in STREAM frames: once, and again when lost.
    let stream_bytes: u64 = records
        .iter()
        .filter(|r| r["name"] == "transport:packet_sent")
        .flat_map(|r| r["data"]["frames"].as_array().cloned().unwrap_or_default())
        .filter(|f| f["frame_type"] == "stream")
        .map(|f| f["length"].as_u64().unwrap())
        .sum();
    assert_eq!(
        stream_bytes,
        data.len() as u64 + stats.stream_bytes_retransmitted
    );
    let last = records.last().unwrap();
    assert_eq!(last["name"], "connectivity:connection_closed");
    assert_eq!(last["data"]["reason"], "idle timeout");
    let idle_ms = records
        .iter()
        .filter(|r| r["name"] == "transport:parameters_set")
        .filter_map(|r| r["data"]["max_idle_timeout"].as_f64())
        .fold(f64::MAX, f64::min);
    let last_received = records
        .iter()
        .filter(|r| r["name"] == "transport:packet_received")
        .map(|r| r["time"].as_f64().unwrap())
        .fold(0.0, f64::max);
    let closed_at = last["time"].as_f64().unwrap();
    assert!(
        closed_at >= last_received + idle_ms,
        "closed at {closed_at} ms, last packet at {last_received} ms, idle timeout {idle_ms} ms"
    );
    // Times are relative and never go back, the idle timeout's close included (it is
    // stamped with the timer's time, not the last packet's).
    let times: Vec<f64> = records[1..]
        .iter()
        .map(|r| r["time"].as_f64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}
