//! `gongjian backup`: one archive (`.tar.gz`) of the database and the
//! attachment files, consistent while the server runs.
//!
//! Members, in order: the database (`gongjian.db`, a `VACUUM INTO` copy on
//! SQLite; `postgres.sql` from `pg_dump` on PostgreSQL), then every file
//! under `attachments/<2 hex>/<sha256>`, then `manifest.json` with the
//! SHA-256 and size of each member and the schema version. The database is
//! copied first: attachments are written before the rows that name them
//! and never change (they are named by their checksum), so every file the
//! copy refers to is on disk when the files are gathered.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use gongjian_storage::Backend;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::datadir::{create_private_dir, create_private_file, private_umask};
use super::platform::{ConfigArgs, init_logging, open_db, runtime};

/// `format` of the manifest.
pub const FORMAT: &str = "gongjian-backup";
/// Version of the archive layout.
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
pub const SQLITE_MEMBER: &str = "gongjian.db";
pub const POSTGRES_MEMBER: &str = "postgres.sql";
pub const ATTACHMENTS: &str = "attachments";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// Unix seconds.
    pub created_at: i64,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// Highest applied migration.
    pub schema_version: i64,
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// Is `path` a member name the archive may hold? Only these exact shapes:
/// no directories of other names, no `..`, nothing absolute.
pub fn allowed_member(path: &str) -> bool {
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match path.split('/').collect::<Vec<_>>().as_slice() {
        [name] => [MANIFEST, SQLITE_MEMBER, POSTGRES_MEMBER].contains(name),
        [dir, prefix, name] => {
            *dir == ATTACHMENTS && hex(prefix, 2) && hex(name, 64) && name.starts_with(prefix)
        }
        _ => false,
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Destination archive. Default: <data-dir>/backups/gongjian-YYYYMMDD-HHMMSS.tar.gz
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    init_logging(&config);
    private_umask();
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let backups = config.data_dir.join("backups");
    let dest = args
        .output
        .clone()
        .unwrap_or_else(|| backups.join(format!("gongjian-{stamp}.tar.gz")));
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    create_private_dir(&parent)?;
    if dest.exists() {
        bail!("{} 已存在，不覆盖 (refusing to overwrite)", dest.display());
    }
    // Staging beside the destination: the database copy, then the archive
    // written under a temporary name and renamed when complete.
    let staging = tempfile::Builder::new()
        .prefix(".gongjian-backup-")
        .tempdir_in(&parent)
        .with_context(|| format!("无法在 {} 创建临时目录", parent.display()))?;
    let (backend, schema_version, db_copy) = runtime()?.block_on(async {
        let db = open_db(&config).await?;
        let schema_version = db
            .applied_migrations()
            .await?
            .last()
            .map(|(v, _)| *v)
            .unwrap_or(0);
        let backend = db.backend();
        let copy = match backend {
            Backend::Sqlite => {
                let copy = staging.path().join(SQLITE_MEMBER);
                db.backup_sqlite(&copy).await?;
                copy
            }
            Backend::Postgres => {
                let copy = staging.path().join(POSTGRES_MEMBER);
                // pg_dump takes a consistent snapshot in one transaction.
                let status = std::process::Command::new("pg_dump")
                    .arg("--dbname")
                    .arg(config.database_url())
                    .arg("--file")
                    .arg(&copy)
                    .status()
                    .context(
                        "无法运行 pg_dump：PostgreSQL 的数据库部分需要 pg_dump，\
                         请安装 PostgreSQL 客户端工具",
                    )?;
                if !status.success() {
                    bail!("pg_dump 失败 ({status})");
                }
                copy
            }
        };
        db.close().await;
        anyhow::Ok((backend, schema_version, copy))
    })?;
    let db_member = match backend {
        Backend::Sqlite => SQLITE_MEMBER,
        Backend::Postgres => POSTGRES_MEMBER,
    };
    let mut members = vec![(db_member.to_owned(), db_copy)];
    members.extend(attachment_files(&config.data_dir.join(ATTACHMENTS))?);

    let partial = staging.path().join("archive.tar.gz");
    let files = write_archive(&partial, &members, backend, schema_version)?;
    std::fs::rename(&partial, &dest).with_context(|| format!("无法写入 {}", dest.display()))?;
    println!(
        "备份完成 (backup written): {}（数据库 + {} 个附件）",
        dest.display(),
        files - 1
    );
    if backend == Backend::Postgres {
        println!(
            "PostgreSQL：归档中的数据库部分是 pg_dump 的 SQL 导出（{POSTGRES_MEMBER}）；\
             gongjian restore 只恢复附件文件，数据库请用 psql 导入该文件。"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Every stored attachment: (member name, path). Temporary files of
/// uploads in progress and anything not named by a checksum are skipped.
fn attachment_files(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let prefixes = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("无法读取 {}", dir.display())),
    };
    for prefix in prefixes {
        let prefix = prefix?;
        if !prefix.file_type()?.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(prefix.path())? {
            let file = file?;
            if !file.file_type()?.is_file() {
                continue;
            }
            let name = format!(
                "{ATTACHMENTS}/{}/{}",
                prefix.file_name().to_string_lossy(),
                file.file_name().to_string_lossy()
            );
            if allowed_member(&name) {
                out.push((name, file.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Write the archive; returns the number of data members.
fn write_archive(
    dest: &Path,
    members: &[(String, PathBuf)],
    backend: Backend,
    schema_version: i64,
) -> anyhow::Result<usize> {
    let file = create_private_file(dest)?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let now = gongjian_storage::now();
    let mut files = Vec::with_capacity(members.len());
    for (name, path) in members {
        let source =
            std::fs::File::open(path).with_context(|| format!("无法读取 {}", path.display()))?;
        let size = source.metadata()?.len();
        let mut hashing = HashingReader {
            inner: source.take(size),
            hasher: Sha256::new(),
            read: 0,
        };
        tar.append_data(&mut header(size, now), name, &mut hashing)
            .with_context(|| format!("无法写入归档成员 {name}"))?;
        if hashing.read != size {
            bail!("{} 在备份过程中被改动", path.display());
        }
        files.push(ManifestFile {
            path: name.clone(),
            size,
            sha256: hex::encode(hashing.hasher.finalize()),
        });
    }
    let count = files.len();
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        created_at: now,
        backend: match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
        .into(),
        schema_version,
        files,
    };
    let bytes = serde_json::to_vec_pretty(&manifest)?;
    tar.append_data(
        &mut header(bytes.len() as u64, now),
        MANIFEST,
        bytes.as_slice(),
    )?;
    let gz = tar.into_inner()?;
    let file = gz.finish()?;
    file.sync_all()?;
    Ok(count)
}

fn header(size: u64, mtime: i64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(size);
    h.set_mode(0o600);
    h.set_mtime(mtime.max(0) as u64);
    h
}

/// Hash what passes through.
pub struct HashingReader<R> {
    pub inner: R,
    pub hasher: Sha256,
    pub read: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// Copy `reader` into a new private file at `path`; returns (size, sha256).
pub fn copy_hashed(reader: impl Read, path: &Path) -> anyhow::Result<(u64, String)> {
    let mut out = create_private_file(path)?;
    let mut hashing = HashingReader {
        inner: reader,
        hasher: Sha256::new(),
        read: 0,
    };
    std::io::copy(&mut hashing, &mut out)?;
    out.flush()?;
    out.sync_all()?;
    Ok((hashing.read, hex::encode(hashing.hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::allowed_member;

    #[test]
    fn only_known_member_names_are_allowed() {
        let sha = "ab".to_owned() + &"0".repeat(62);
        assert!(allowed_member("gongjian.db"));
        assert!(allowed_member("manifest.json"));
        assert!(allowed_member(&format!("attachments/ab/{sha}")));
        for bad in [
            "/etc/passwd",
            "../gongjian.db",
            "./gongjian.db",
            "attachments/../../x",
            &format!("attachments/cd/{sha}"),
            &format!("attachments/AB/{}", sha.to_uppercase()),
            &format!("/attachments/ab/{sha}"),
            "gongjian.lock",
            "",
        ] {
            assert!(!allowed_member(bad), "{bad}");
        }
    }
}
