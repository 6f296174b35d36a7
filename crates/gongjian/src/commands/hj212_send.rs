//! `gongjian hj212 send FILE --target ADDR`: replay captured frames to an
//! HJ 212 listener, one frame per line (or a raw stream with `--stream`),
//! optionally waiting for each frame's 9014.

use std::io::Read;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use gongjian_hj212::bytes::BytesMut;
use gongjian_hj212::codec::Hj212Codec;
use gongjian_hj212::{Options, StreamDecoder};
use tokio::io::AsyncWriteExt;
use tokio_util::codec::Framed;

#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// File of frames (one per line), or "-" for standard input.
    #[arg(default_value = "-")]
    pub input: String,
    /// Listener address, e.g. 127.0.0.1:9212.
    #[arg(long, value_name = "ADDR")]
    pub target: SocketAddr,
    /// Treat the input as a raw byte stream rather than one frame per line.
    #[arg(long)]
    pub stream: bool,
    /// Do not wait for acknowledgements (send as fast as possible).
    #[arg(long)]
    pub no_wait: bool,
    /// Seconds to wait for each acknowledgement.
    #[arg(long, default_value_t = 10)]
    pub ack_timeout: u64,
    /// Pause between frames, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub interval_ms: u64,
}

pub fn run(args: SendArgs) -> anyhow::Result<ExitCode> {
    let mut bytes = Vec::new();
    if args.input == "-" {
        std::io::stdin().read_to_end(&mut bytes)?;
    } else {
        bytes =
            std::fs::read(&args.input).with_context(|| format!("cannot read {}", args.input))?;
    }
    // Split the capture into frames with the codec's own framer, so a capture
    // with glued or split frames replays frame by frame.
    let frames: Vec<Vec<u8>> = if args.stream {
        let mut dec = StreamDecoder::new(Options::default());
        let mut buf = BytesMut::from(&bytes[..]);
        let mut out = Vec::new();
        while let Some(d) = dec.decode_eof(&mut buf) {
            match d {
                Ok(p) => out.push(with_crlf(p.raw())),
                Err(r) => out.push(with_crlf(r.raw())),
            }
        }
        out
    } else {
        bytes
            .split(|b| *b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .map(with_crlf)
            .collect()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let socket = tokio::net::TcpStream::connect(args.target)
            .await
            .with_context(|| format!("cannot connect to {}", args.target))?;
        let mut framed = Framed::new(socket, Hj212Codec::default());
        let (mut sent, mut acked, mut unacked) = (0usize, 0usize, 0usize);
        for f in &frames {
            framed.get_mut().write_all(f).await?;
            sent += 1;
            let wants_ack = gongjian_hj212::parse_frame(f, &Options::default())
                .map(|p| p.ack_requested().then(|| p.qn().unwrap_or("").to_owned()))
                .unwrap_or(None);
            if let (Some(qn), false) = (wants_ack, args.no_wait) {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(args.ack_timeout);
                let mut got = false;
                while let Ok(Some(Ok(Ok(p)))) =
                    tokio::time::timeout_at(deadline, framed.next()).await
                {
                    if p.qn() == Some(qn.as_str())
                        && matches!(p.cn(), Some("9014" | "9011" | "9013"))
                    {
                        got = true;
                        break;
                    }
                }
                if got {
                    acked += 1;
                } else {
                    unacked += 1;
                }
            }
            if args.interval_ms > 0 {
                tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
            }
        }
        let _ = SinkExt::<gongjian_hj212::Message>::close(&mut framed).await;
        println!(
            "{}",
            serde_json::json!({"sent": sent, "acked": acked, "unacked": unacked})
        );
        anyhow::Ok(if unacked > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    })
}

fn with_crlf(f: &[u8]) -> Vec<u8> {
    let mut v = f.to_vec();
    if !v.ends_with(b"\r\n") {
        v.extend_from_slice(b"\r\n");
    }
    v
}
