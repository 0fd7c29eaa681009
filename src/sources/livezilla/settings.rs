//! What configuration knows of LiveZilla: an operator's login whose password the API takes as
//! its MD5 hex, its streams, its sample file.

use crate::config::PipelineConfig;
use crate::config::{ConnectorSpec, Login, StreamSpec};
use crate::http::HttpClient;
use crate::sources::{Connection, Connector, StreamInfo, stream_specs};

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
