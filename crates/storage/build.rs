// sqlx::migrate! embeds the migration files: rebuild when one changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
