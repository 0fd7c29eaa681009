//! What configuration knows of LiveZilla: an operator's login whose password the API takes as
//! its MD5 hex, its streams, its sample file.

use crate::config::PipelineConfig;
use crate::config::{ConnectorSpec, Login, StreamSpec};
use crate::http::HttpClient;
use crate::sources::{Connection, Connector, StreamInfo, stream_specs};

/// The keys of `[sync]` only LiveZilla reads.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct LivezillaSync {
    /// Tickets created this long ago are re-read every run (a reply, status change, comment or
    /// reassignment does not change when a ticket was created, and the API has no updated-since
    /// filter). Default: `30d`.
    #[serde(with = "humantime_serde")]
    pub reread_window: std::time::Duration,
    /// How often to re-read every ticket, catching changes to tickets older than
    /// `reread_window` (`0s`: never). Default: `1d`.
    #[serde(with = "humantime_serde")]
    pub full_rescan_every: std::time::Duration,
    /// The created-time window of one list request, before splitting windows that hit the
    /// request's limit. Default: `7d`.
    #[serde(with = "humantime_serde")]
    pub window: std::time::Duration,
    /// Chats are listed only once archived, so chats started this long ago are re-read every
    /// run. Default: `2d`.
    #[serde(with = "humantime_serde")]
    pub chats_reread: std::time::Duration,
}

impl Default for LivezillaSync {
    fn default() -> Self {
        LivezillaSync {
            reread_window: std::time::Duration::from_secs(30 * 86_400),
            full_rescan_every: std::time::Duration::from_secs(86_400),
            window: std::time::Duration::from_secs(7 * 86_400),
            chats_reread: std::time::Duration::from_secs(2 * 86_400),
        }
    }
}

impl LivezillaSync {
    /// The keys as given (validated by [`Spec::check_sync`]), defaults for the rest.
    pub fn from_keys(keys: &std::collections::BTreeMap<String, toml::Value>) -> Result<LivezillaSync, String> {
        let table: toml::Table = keys.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| e.to_string())
    }
}

pub struct Spec;

/// LiveZilla as the registry lists it.
pub static CONNECTOR: Spec = Spec;

impl ConnectorSpec for Spec {
    fn name(&self) -> &'static str {
        super::SOURCE
    }

    fn login(&self) -> Login {
        Login::Password { md5: true }
    }

    fn streams(&self) -> Vec<StreamSpec> {
        stream_specs(&self.stream_infos())
    }

    fn sync_keys(&self) -> Vec<(&'static str, String, &'static str)> {
        let d = LivezillaSync::default();
        let t = |v: std::time::Duration| format!("\"{}\"", humantime::format_duration(v));
        vec![
            ("reread_window", t(d.reread_window), "tickets created this recently are re-read every run"),
            ("full_rescan_every", t(d.full_rescan_every), "every ticket and chat re-read this often (0s: never)"),
            ("window", t(d.window), "created-time window of one list request"),
            ("chats_reread", t(d.chats_reread), "chats started this recently are re-read every run"),
        ]
    }

    fn check_sync(&self, keys: &std::collections::BTreeMap<String, toml::Value>) -> Vec<(String, String)> {
        match LivezillaSync::from_keys(keys) {
            Ok(_) => Vec::new(),
            Err(e) => vec![(String::new(), e)],
        }
    }

    fn sample(&self, name: &str) -> (String, String) {
        (
            format!(
                "source = \"livezilla\"\n\
             base_url = \"https://chat.example.com/livezilla\"   # the folder that holds api/v2/api.php\n\
             account = \"{name}\"                                # stored in every row's `account` column\n\
             username = \"apiadmin\"                             # an operator with API permission\n\
             password = \"${{LIVEZILLA_PASSWORD}}\"              # by reference only; or: password_file = \"/run/secrets/livezilla\"\n\
             # password_is_md5 = false                           # true when the value above is already the MD5 hex\n\
             timezone = \"UTC\"                                  # the server's zone (chat transcripts carry local times)\n"
            ),
            String::new(),
        )
    }
}

impl Connector for Spec {
    fn stream_infos(&self) -> Vec<StreamInfo> {
        super::STREAMS.to_vec()
    }

    fn windowable(&self, stream: &str) -> bool {
        stream == "tickets" || stream == "chats"
    }
    fn http_client(&self, cfg: &PipelineConfig) -> HttpClient {
        super::http_client(cfg)
    }

    fn open(&self, cfg: &PipelineConfig, http: HttpClient) -> Box<dyn Connection> {
        Box::new(super::LiveZilla::new(cfg, http))
    }
}

crate::sources::connection!(super::LiveZilla);
