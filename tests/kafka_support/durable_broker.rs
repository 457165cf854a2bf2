//! A broker of the test's own whose log outlives its process: tansu with
//! S3 storage on an S3 emulator of its own (scripts/s3-dev.sh), so it can
//! be killed and started again with its topics, offsets and groups.

use super::script;
use std::path::Path;
use std::process::{Command, Stdio};

/// tansu on `port` with its log on the S3 emulator on `s3_port`; both
/// stopped when dropped.
pub struct DurableBroker {
    pub port: u16,
    s3_port: u16,
    /// The `AWS_*` variables tansu needs to reach the emulator.
    s3_env: Vec<(String, String)>,
}

impl DurableBroker {
    /// Starts the emulator and the broker on free ports.
    pub fn start() -> DurableBroker {
        let s3_port = super::free_port();
        let output = Command::new("bash")
            .arg(s3_script())
            .args(["start", &s3_port.to_string()])
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/s3-dev.sh");
        assert!(output.status.success(), "s3-dev.sh start {s3_port} failed");
        let s3_env = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let broker = DurableBroker {
            port: super::free_port(),
            s3_port,
            s3_env,
        };
        broker.run("start");
        broker
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// SIGKILLs the broker process, as a crash would; its log stays.
    pub fn kill_9(&self) {
        self.run("kill");
    }

    /// Starts the broker again on the same port and log.
    pub fn restart(&self) {
        self.run("start");
    }

    fn command(&self, cmd: &str) -> Command {
        let mut command = Command::new("bash");
        command
            .arg(script())
            .args([cmd, &self.port.to_string()])
            .env("KAFKA_DEV_STORAGE", "s3://tansu/")
            .envs(self.s3_env.iter().map(|(k, v)| (k, v)));
        command
    }

    fn run(&self, cmd: &str) {
        let status = self
            .command(cmd)
            .status()
            .expect("run scripts/kafka-dev.sh");
        assert!(status.success(), "kafka-dev.sh {cmd} {} failed", self.port);
    }
}

impl Drop for DurableBroker {
    fn drop(&mut self) {
        let _ = self.command("stop").status();
        let _ = Command::new("bash")
            .arg(s3_script())
            .args(["stop", &self.s3_port.to_string()])
            .status();
    }
}

fn s3_script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/s3-dev.sh")
}
