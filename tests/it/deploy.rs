//! The deploy files: what can be checked on this machine without a cluster or an image build.

use std::path::{Path, PathBuf};

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

#[test]
fn the_systemd_unit_is_hardened_and_verifies() {
    let unit = std::fs::read_to_string(repo("deploy/systemd/desksync.service")).unwrap();
    for directive in [
        "User=desksync",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/desksync",
        "NoNewPrivileges=true",
        "CapabilityBoundingSet=",
        "KillSignal=SIGTERM",
        "EnvironmentFile=/etc/desksync/desksync.env",
    ] {
        assert!(unit.lines().any(|l| l.trim() == directive), "missing {directive}");
    }
    // The stop timeout leaves room for serve's shutdown deadline (60 s by default).
    let timeout: u64 = unit.lines().find_map(|l| l.strip_prefix("TimeoutStopSec=")).unwrap().parse().unwrap();
    assert!(timeout > 60);
    // systemd's own check, where systemd is installed (the binary path points at this build).
    if let Ok(out) = std::process::Command::new("systemd-analyze").arg("--version").output()
        && out.status.success()
    {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("desksync.service");
        std::fs::write(&path, unit.replace("/usr/local/bin/desksync", env!("CARGO_BIN_EXE_desksync"))).unwrap();
        let v = std::process::Command::new("systemd-analyze").arg("verify").arg(&path).output().unwrap();
        assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
        assert!(v.stderr.is_empty(), "{}", String::from_utf8_lossy(&v.stderr));
    }
    // The environment file names every secret the sample pipelines reference.
    let env_file = std::fs::read_to_string(repo("deploy/systemd/desksync.env.example")).unwrap();
    for var in ["LIVEAGENT_API_KEY", "LIVEZILLA_PASSWORD", "LIVEFORCE_PASSWORD"] {
        assert!(env_file.contains(&format!("{var}=")), "{var}");
    }
}

#[test]
fn the_kubernetes_manifests_parse_and_probe_the_real_endpoints() {
    let mut kinds = Vec::new();
    for file in ["deploy/kubernetes/desksync.yaml", "deploy/kubernetes/desksync-cronjob.yaml"] {
        let text = std::fs::read_to_string(repo(file)).unwrap();
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let v: serde_yaml_ng::Value =
                serde::Deserialize::deserialize(doc).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(v["apiVersion"].is_string() && v["metadata"]["name"].is_string(), "{file}: {v:?}");
            let kind = v["kind"].as_str().unwrap().to_string();
            if kind == "Deployment" {
                let c = &v["spec"]["template"]["spec"]["containers"][0];
                assert_eq!(c["livenessProbe"]["httpGet"]["path"].as_str(), Some("/healthz"));
                assert_eq!(c["readinessProbe"]["httpGet"]["path"].as_str(), Some("/readyz"));
                assert_eq!(c["securityContext"]["allowPrivilegeEscalation"].as_bool(), Some(false));
                assert_eq!(v["spec"]["replicas"].as_u64(), Some(1), "one writer per warehouse");
                // The serve flags in the manifest exist.
                let args: Vec<&str> = c["args"].as_sequence().unwrap().iter().filter_map(|a| a.as_str()).collect();
                assert_eq!(args[0], "serve");
                let help = std::process::Command::new(env!("CARGO_BIN_EXE_desksync"))
                    .args(["serve", "--help"])
                    .output()
                    .unwrap();
                let help = String::from_utf8_lossy(&help.stdout);
                for flag in args.iter().filter(|a| a.starts_with("--")) {
                    assert!(help.contains(flag), "serve has no {flag}");
                }
            }
            kinds.push(kind);
        }
    }
    kinds.sort();
    assert_eq!(kinds, ["ConfigMap", "CronJob", "Deployment", "PersistentVolumeClaim"]);
}

#[test]
fn the_dockerfile_builds_the_way_the_readme_says() {
    let dockerfile = std::fs::read_to_string(repo("deploy/docker/Dockerfile")).unwrap();
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let build = dockerfile.lines().find_map(|l| l.strip_prefix("RUN cargo build")).expect("a cargo build step");
    let command = format!("cargo build{build}");
    assert!(readme.contains(&command), "README must document `{command}`");
    assert!(dockerfile.contains("USER 10001"), "the runtime image runs as non-root");
    assert!(dockerfile.matches("FROM ").count() >= 2, "multi-stage");
    // The image's entry point runs commands the binary has.
    assert!(dockerfile.contains(r#"CMD ["serve", "--bind", "0.0.0.0:9184"]"#));
}
