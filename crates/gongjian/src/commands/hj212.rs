//! `gongjian hj212`: HJ 212 protocol tools. Contract in docs/cli/hj212.md.
//!
//! `parse` reads frames (one per line, or a raw byte stream with `--stream`) and
//! prints one JSON object per frame. The codec itself is `gongjian-hj212`.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use gongjian_hj212::bytes::BytesMut;
use gongjian_hj212::report::Report;
use gongjian_hj212::{Charset, CrcPolicy, Decoded, Options, StreamDecoder, parse_frame};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Parse HJ 212 frames and print one JSON object per frame.
    /// Exit 0: every frame accepted; 1: a frame was rejected (or, with --stream,
    /// bytes were skipped as garbage); 2: the input could not be read.
    Parse(ParseArgs),
    /// Replay captured frames to a listener (waits for each 9014 when A=1).
    Send(super::hj212_send::SendArgs),
}

#[derive(Debug, clap::Args)]
pub struct ParseArgs {
    /// Input file, or "-" for standard input.
    #[arg(default_value = "-")]
    pub input: String,
    /// Treat the input as a raw TCP byte stream (frames glued, split, with garbage)
    /// instead of one frame per line.
    #[arg(long)]
    pub stream: bool,
    /// Charset of the data segment.
    #[arg(long, value_enum, default_value_t = CharsetArg::Auto)]
    pub charset: CharsetArg,
    /// CRC policy: strict (HJ 212 CRC only), modbus (also accept CRC-16/MODBUS from
    /// legacy loggers), off (do not reject on CRC).
    #[arg(long, value_enum, default_value_t = CrcArg::Strict)]
    pub crc: CrcArg,
    /// Largest accepted data segment in bytes (the standard says 1024; real loggers
    /// send more).
    #[arg(long, default_value_t = gongjian_hj212::MAX_DATA_LEN)]
    pub max_len: usize,
    /// Accept a frame with a wrong length field when its CRC matches at its true end.
    #[arg(long)]
    pub lenient_length: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CharsetArg {
    Auto,
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    Gbk,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CrcArg {
    Strict,
    Modbus,
    Off,
}

pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Parse(args) => parse(args),
        Command::Send(args) => super::hj212_send::run(args),
    }
}

fn options(args: &ParseArgs) -> Options {
    Options {
        max_data_len: args.max_len,
        crc: match args.crc {
            CrcArg::Strict => CrcPolicy::Strict,
            CrcArg::Modbus => CrcPolicy::AcceptModbus,
            CrcArg::Off => CrcPolicy::Ignore,
        },
        charset: match args.charset {
            CharsetArg::Auto => Charset::Auto,
            CharsetArg::Utf8 => Charset::Utf8,
            CharsetArg::Gbk => Charset::Gbk,
        },
        lenient_length: args.lenient_length,
    }
}

fn read_input(input: &str) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if input == "-" {
        std::io::stdin().lock().read_to_end(&mut bytes)?;
    } else {
        bytes = std::fs::read(PathBuf::from(input))?;
    }
    Ok(bytes)
}

struct Tally {
    frames: u64,
    rejected: u64,
}

fn print(
    out: &mut impl Write,
    decoded: &Decoded,
    line: Option<usize>,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let mut report = Report::new(decoded);
    report.line = line;
    tally.frames += 1;
    if !report.ok {
        tally.rejected += 1;
    }
    serde_json::to_writer(&mut *out, &report).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn parse(args: ParseArgs) -> anyhow::Result<ExitCode> {
    match parse_inner(args) {
        // `gongjian hj212 parse big.txt | head`: stop quietly when the reader goes away.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(ExitCode::SUCCESS)
        }
        other => other,
    }
}

fn parse_inner(args: ParseArgs) -> anyhow::Result<ExitCode> {
    let bytes = match read_input(&args.input) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("错误 (error): cannot read {}: {e}", args.input);
            return Ok(ExitCode::from(2));
        }
    };
    let opts = options(&args);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut tally = Tally {
        frames: 0,
        rejected: 0,
    };
    let mut garbage = 0;
    if args.stream {
        let mut decoder = StreamDecoder::new(opts);
        let mut buf = BytesMut::from(&bytes[..]);
        while let Some(d) = decoder.decode(&mut buf) {
            print(&mut out, &d, None, &mut tally)?;
        }
        while let Some(d) = decoder.decode_eof(&mut buf) {
            print(&mut out, &d, None, &mut tally)?;
        }
        garbage = decoder.stats().garbage_bytes;
    } else {
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let d = parse_frame(line, &opts);
            print(&mut out, &d, Some(i + 1), &mut tally)?;
        }
    }
    out.flush()?;
    let accepted = tally.frames - tally.rejected;
    eprintln!(
        "汇总 (summary): {} frames, {accepted} accepted, {} rejected{}",
        tally.frames,
        tally.rejected,
        if args.stream {
            format!(", {garbage} garbage bytes skipped")
        } else {
            String::new()
        }
    );
    Ok(if tally.rejected > 0 || garbage > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
