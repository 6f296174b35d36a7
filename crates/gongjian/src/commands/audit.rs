//! `gongjian audit verify`: walk the audit log's hash chain.

use std::process::ExitCode;

use super::platform::{ConfigArgs, init_logging, open_db, runtime};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Recompute every entry's hash from its fields and the entry before it;
    /// report the first broken link and exit non-zero.
    Verify(Args),
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let Command::Verify(args) = command;
    let config = args.config.load()?;
    init_logging(&config);
    runtime()?.block_on(async {
        let db = open_db(&config).await?;
        let v = db.audit().verify().await;
        db.close().await;
        let v = v?;
        match v.broken {
            None => {
                println!("审计日志完整：{} 条", v.rows);
                if let Some(head) = v.head {
                    println!("最后一条的哈希 (head): {head}");
                    println!("（请另行记下此哈希：日志末尾被截去时，下次核对可据此发现。）");
                }
                Ok(ExitCode::SUCCESS)
            }
            Some(broken) => {
                eprintln!("审计日志已被篡改：第一处断点在 id {} 的记录。", broken.id);
                eprintln!("  {}", broken.problem);
                eprintln!("  其前 {} 条记录核对无误。", v.rows);
                Ok(ExitCode::FAILURE)
            }
        }
    })
}
