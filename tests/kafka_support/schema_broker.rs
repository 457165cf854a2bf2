//! A broker of the test's own validating records: tansu with its embedded
//! schema registry on a directory of `TOPIC.json` files
//! (`KAFKA_DEV_SCHEMA_REGISTRY`, see `scripts/kafka-dev.sh`).

use super::{free_port, script};
use std::path::{Path, PathBuf};
use std::process::Command;

/// tansu on a free port with the schemas of `dir`; stopped, and `dir`
/// removed, when dropped.
pub struct SchemaBroker {
    pub port: u16,
    dir: PathBuf,
}

impl SchemaBroker {
    /// A directory for the schemas, empty and unique to this run.
    pub fn schema_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "onex-schema-registry-{name}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("schema directory");
        dir
    }

    /// Starts the broker on the schemas written in `dir`.
    pub fn start(dir: &Path) -> SchemaBroker {
        let broker = SchemaBroker {
            port: free_port(),
            dir: dir.to_owned(),
        };
        let status = Command::new("bash")
            .arg(script())
            .args(["start", &broker.port.to_string()])
            .env("KAFKA_DEV_SCHEMA_REGISTRY", dir)
            .status()
            .expect("run scripts/kafka-dev.sh");
        assert!(
            status.success(),
            "kafka-dev.sh start {} failed",
            broker.port
        );
        broker
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for SchemaBroker {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["stop", &self.port.to_string()])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
