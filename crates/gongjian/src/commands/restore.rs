//! `gongjian restore FILE`: check a backup archive whole, then put it in
//! place of the data directory's database and attachments.
//!
//! Nothing is replaced before every check has passed: the archive is
//! extracted into a temporary directory inside the data directory (so that
//! the final moves are renames on one file system); only the member names a
//! backup writes are accepted (no absolute paths, `..`, links or other
//! entry types); every member must be listed in the manifest with its size
//! and SHA-256, and every listed member present; the gzip checksum must
//! hold to the end; the database copy must pass `PRAGMA integrity_check`
//! and carry only migrations this build knows. The data directory is
//! locked for the whole run, so a running server makes restore refuse.
//! What was there before is moved aside, not deleted.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use gongjian_storage::{Db, DbOptions};

use super::backup::{
    ATTACHMENTS, FORMAT, FORMAT_VERSION, MANIFEST, Manifest, POSTGRES_MEMBER, SQLITE_MEMBER,
    allowed_member, copy_hashed,
};
use super::datadir::{create_private_dir, prepare, sqlite_file};
use super::platform::{ConfigArgs, init_logging, runtime};

/// Largest manifest accepted (it lists every attachment).
const MANIFEST_MAX_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive written by `gongjian backup` (.tar.gz).
    pub file: PathBuf,
    /// Replace a data directory that already holds a database or attachments.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    init_logging(&config);
    // Refuses while a server (or another restore) holds the directory.
    let _lock = prepare(&config)?;
    let db_file = sqlite_file(&config);
    let attachments = config.data_dir.join(ATTACHMENTS);
    let has_db = db_file
        .as_ref()
        .is_some_and(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0));
    let has_files = std::fs::read_dir(&attachments).is_ok_and(|mut d| d.next().is_some());
    if (has_db || has_files) && !args.force {
        bail!(
            "数据目录 {} 已有数据（数据库或附件）；确认用备份覆盖请加 --force（原有数据会移到旁边保留，不删除）",
            config.data_dir.display()
        );
    }

    let staging = tempfile::Builder::new()
        .prefix(".restore-")
        .tempdir_in(&config.data_dir)
        .with_context(|| format!("无法在 {} 创建临时目录", config.data_dir.display()))?;
    let manifest = extract_checked(&args.file, staging.path())
        .with_context(|| format!("备份文件 {} 未通过检查，未做任何改动", args.file.display()))?;
    let attachment_count = manifest
        .files
        .iter()
        .filter(|f| f.path.starts_with(ATTACHMENTS))
        .count();

    match (manifest.backend.as_str(), &db_file) {
        ("sqlite", Some(_)) => {
            let staged = staging.path().join(SQLITE_MEMBER);
            if !staged.exists() {
                bail!("备份文件缺少数据库 {SQLITE_MEMBER}，未做任何改动");
            }
            runtime()?
                .block_on(check_database(&staged))
                .context("备份中的数据库未通过检查，未做任何改动")?;
        }
        ("sqlite", None) => bail!("备份来自 SQLite，而当前配置的数据库是 PostgreSQL；未做任何改动"),
        ("postgres", Some(_)) => {
            bail!("备份来自 PostgreSQL，而当前配置的数据库是 SQLite；未做任何改动")
        }
        ("postgres", None) => {}
        (other, _) => bail!("备份清单中的数据库类型 {other:?} 未知；未做任何改动"),
    }

    // Everything checked: move the old contents aside, the new ones in.
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let aside = config.data_dir.join(format!("before-restore-{stamp}"));
    create_private_dir(&aside)?;
    let mut moved_aside = false;
    if manifest.backend == "sqlite"
        && let Some(db_file) = &db_file
    {
        for suffix in ["-wal", "-shm", ""] {
            let old = with_suffix(db_file, suffix);
            if old.exists() {
                let name = format!("{SQLITE_MEMBER}{suffix}");
                move_file(&old, &aside.join(name))?;
                moved_aside = true;
            }
        }
        move_file(&staging.path().join(SQLITE_MEMBER), db_file)?;
    }
    // An empty attachments directory (as `prepare` creates) just goes.
    if attachments.exists() && std::fs::remove_dir(&attachments).is_err() {
        std::fs::rename(&attachments, aside.join(ATTACHMENTS))
            .with_context(|| format!("无法移动 {}", attachments.display()))?;
        moved_aside = true;
    }
    let staged_attachments = staging.path().join(ATTACHMENTS);
    if staged_attachments.exists() {
        std::fs::rename(&staged_attachments, &attachments)
            .with_context(|| format!("无法放入 {}", attachments.display()))?;
    } else {
        create_private_dir(&attachments)?;
    }

    println!(
        "恢复完成 (restored): {}（{}{} 个附件，结构版本 {}）",
        args.file.display(),
        if manifest.backend == "sqlite" {
            "数据库 + "
        } else {
            ""
        },
        attachment_count,
        manifest.schema_version
    );
    if moved_aside {
        println!("原有数据已移到 {}；核对无误后可删除。", aside.display());
    } else {
        let _ = std::fs::remove_dir(&aside);
    }
    if manifest.backend == "postgres" {
        let sql = config
            .data_dir
            .join(format!("restored-{stamp}-{POSTGRES_MEMBER}"));
        move_file(&staging.path().join(POSTGRES_MEMBER), &sql)?;
        println!(
            "PostgreSQL：本命令只恢复了附件文件；数据库部分是 pg_dump 的导出，已放在 {}，\
             请在停机时用 psql 导入一个空数据库（psql --dbname <URL> --file <该文件>）。",
            sql.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Rename; across file systems (a database outside the data directory),
/// copy beside the target first and rename there, so the target is never
/// half written.
fn move_file(from: &Path, to: &Path) -> anyhow::Result<()> {
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    let tmp = with_suffix(to, ".restore-tmp");
    let _ = std::fs::remove_file(&tmp);
    let source =
        std::fs::File::open(from).with_context(|| format!("无法读取 {}", from.display()))?;
    copy_hashed(source, &tmp)?;
    std::fs::rename(&tmp, to).with_context(|| format!("无法放入 {}", to.display()))?;
    std::fs::remove_file(from)?;
    Ok(())
}

/// Extract the archive into `dir`, checking everything; returns the
/// manifest. On error `dir` may hold part of the archive and nothing else
/// has been touched.
fn extract_checked(archive: &Path, dir: &Path) -> anyhow::Result<Manifest> {
    let file =
        std::fs::File::open(archive).with_context(|| format!("无法打开 {}", archive.display()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut seen: BTreeMap<String, (u64, String)> = BTreeMap::new();
    let mut manifest: Option<Vec<u8>> = None;
    for entry in tar
        .entries()
        .context("不是 gongjian 备份（tar.gz）或已损坏")?
    {
        let mut entry = entry.context("备份文件已损坏（归档结构错误）")?;
        let name = String::from_utf8(entry.path_bytes().into_owned())
            .map_err(|_| anyhow::anyhow!("归档成员名不是 UTF-8"))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            bail!("归档成员 {name:?} 不是普通文件（链接、目录或设备不接受）");
        }
        if !allowed_member(&name) {
            bail!("归档成员 {name:?} 不是备份应有的文件（路径不允许）");
        }
        if seen.contains_key(&name) || (name == MANIFEST && manifest.is_some()) {
            bail!("归档成员 {name:?} 重复");
        }
        if name == MANIFEST {
            if entry.size() > MANIFEST_MAX_BYTES {
                bail!("备份清单过大");
            }
            let mut bytes = Vec::new();
            entry
                .by_ref()
                .take(MANIFEST_MAX_BYTES)
                .read_to_end(&mut bytes)
                .context("备份文件已损坏（读取清单失败）")?;
            manifest = Some(bytes);
            continue;
        }
        let target = dir.join(&name);
        if let Some(parent) = target.parent() {
            create_private_dir(parent)?;
        }
        let (size, sha256) =
            copy_hashed(&mut entry, &target).context("备份文件已损坏（读取成员失败）")?;
        seen.insert(name, (size, sha256));
    }
    // Read to the end of the gzip stream so that its CRC is checked even
    // past the tar end-of-archive blocks.
    let mut rest = tar.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink()).context("备份文件已损坏（gzip 校验失败）")?;

    let manifest = manifest.context("备份文件缺少清单 manifest.json")?;
    let manifest: Manifest =
        serde_json::from_slice(&manifest).context("备份清单 manifest.json 无法解析")?;
    if manifest.format != FORMAT || manifest.format_version != FORMAT_VERSION {
        bail!(
            "备份格式 {} 版本 {} 不是本程序能恢复的格式",
            manifest.format,
            manifest.format_version
        );
    }
    let mut listed = BTreeMap::new();
    for f in &manifest.files {
        if !allowed_member(&f.path) || f.path == MANIFEST {
            bail!("备份清单列出了不允许的文件 {:?}", f.path);
        }
        if listed
            .insert(f.path.clone(), (f.size, f.sha256.clone()))
            .is_some()
        {
            bail!("备份清单重复列出 {:?}", f.path);
        }
    }
    for (path, (size, sha256)) in &listed {
        match seen.get(path) {
            None => bail!("清单列出的 {path} 不在归档中"),
            Some((s, h)) if s != size || h != sha256 => {
                bail!("{path} 的校验和与清单不符（文件已损坏或被改动）")
            }
            Some(_) => {}
        }
        if let Some(hash) = path.strip_prefix("attachments/").and_then(|p| p.get(3..))
            && hash != sha256
        {
            bail!("附件 {path} 的内容与其文件名（校验和）不符");
        }
    }
    if let Some(extra) = seen.keys().find(|p| !listed.contains_key(*p)) {
        bail!("归档中的 {extra} 不在清单中");
    }
    Ok(manifest)
}

/// The database copy opens, is internally consistent, and carries only
/// migrations this build knows (bringing it up to date checks that: an
/// unknown or altered migration is an error).
async fn check_database(path: &Path) -> anyhow::Result<()> {
    let url = format!("sqlite://{}?mode=rw", path.display());
    let db = Db::connect(&url, &DbOptions::default()).await?;
    let result = async {
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(db.read_pool())
            .await?;
        if check != "ok" {
            bail!("数据库完整性检查失败：{check}");
        }
        db.migrate()
            .await
            .context("数据库的迁移记录与本程序不符（来自更新或不同的版本？）")?;
        let audit = db.audit().verify().await?;
        if let Some(broken) = audit.broken {
            eprintln!(
                "警告：备份中的审计日志在 id {} 处断链：{}",
                broken.id, broken.problem
            );
        }
        // Fold the write-ahead log into the file: only the file is moved.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(db.write_pool())
            .await?;
        anyhow::Ok(())
    }
    .await;
    db.close().await;
    result
}
