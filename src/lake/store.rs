//! Where the lake's tables are stored: a local directory or an S3-compatible bucket, as the
//! object-store URL and options delta-rs opens a table with.
//!
//! deltalake-core knows `file://` and `memory://` only; [`register_s3`] teaches it `s3://`
//! through `object_store`'s own S3 client (no AWS SDK). Commits on S3 rely on conditional writes
//! (`If-None-Match: *`, which AWS S3, MinIO and R2 support), so two writers never both create
//! the same log version. Credentials reach the store as options built here and are never logged.

use std::collections::HashMap;
use std::sync::{Arc, Once};
use std::time::Duration;

use deltalake_core::DeltaResult;
use deltalake_core::logstore::object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use deltalake_core::logstore::object_store::path::Path as StorePath;
use deltalake_core::logstore::object_store::{BackoffConfig, ClientOptions, RetryConfig};
use deltalake_core::logstore::{
    LogStore, LogStoreFactory, ObjectStoreFactory, ObjectStoreRef, StorageConfig, default_logstore, logstore_factories,
    object_store_factories,
};
use reqwest::Url;

use crate::config::LakeLocation;
use crate::error::WarehouseError;

/// The URL of one lake table (`<root>/<table>`).
pub fn table_url(location: &LakeLocation, table: &str) -> Result<Url, WarehouseError> {
    let text = match location {
        LakeLocation::Local(dir) => {
            std::fs::create_dir_all(dir.join(table))
                .map_err(|source| WarehouseError::Io { context: format!("creating {}", dir.display()), source })?;
            let abs = std::fs::canonicalize(dir.join(table))
                .map_err(|source| WarehouseError::Io { context: format!("resolving {}", dir.display()), source })?;
            return Url::from_directory_path(&abs)
                .map_err(|()| WarehouseError::Invalid(format!("{} is not a usable lake path", abs.display())));
        }
        LakeLocation::S3 { bucket, prefix, .. } if prefix.is_empty() => format!("s3://{bucket}/{table}"),
        LakeLocation::S3 { bucket, prefix, .. } => format!("s3://{bucket}/{prefix}/{table}"),
    };
    Url::parse(&text).map_err(|e| WarehouseError::Invalid(format!("lake URL {text}: {e}")))
}

/// The storage options of `location` (with credentials: never log them).
pub fn storage_options(location: &LakeLocation) -> HashMap<String, String> {
    let mut o = HashMap::new();
    if let LakeLocation::S3 { endpoint, region, path_style, credentials, .. } = location {
        register_s3();
        o.insert("aws_region".into(), region.clone());
        if let Some(e) = endpoint {
            o.insert("aws_endpoint".into(), e.clone());
            o.insert("aws_allow_http".into(), e.starts_with("http://").to_string());
        }
        o.insert("aws_virtual_hosted_style_request".into(), (!path_style).to_string());
        if let Some(c) = credentials {
            o.insert("aws_access_key_id".into(), c.access_key_id.expose().to_string());
            o.insert("aws_secret_access_key".into(), c.secret_access_key.expose().to_string());
            if let Some(t) = &c.session_token {
                o.insert("aws_session_token".into(), t.expose().to_string());
            }
        }
    }
    o
}

/// Register the `s3://` scheme with deltalake-core (once per process).
pub fn register_s3() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let url = Url::parse("s3://").expect("static URL");
        object_store_factories().insert(url.clone(), Arc::new(S3Stores));
        logstore_factories().insert(url, Arc::new(S3LogStores));
    });
}

/// Connecting to the S3 endpoint, per attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// One S3 request (a part of a multipart upload at most 8 MiB).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// All attempts of one request together.
const RETRY_TIMEOUT: Duration = Duration::from_secs(30);

struct S3Stores;

impl ObjectStoreFactory for S3Stores {
    fn parse_url_opts(&self, url: &Url, config: &StorageConfig) -> DeltaResult<(ObjectStoreRef, StorePath)> {
        // The usual AWS_* variables first (credentials from the environment), then our options.
        // A dead or unreachable endpoint fails in seconds, not after object_store's default
        // ten retries over three minutes: the run reports the lake error and the next run
        // exports again.
        let mut builder = AmazonS3Builder::from_env()
            .with_url(url.as_str())
            .with_client_options(
                ClientOptions::new().with_connect_timeout(CONNECT_TIMEOUT).with_timeout(REQUEST_TIMEOUT),
            )
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: RETRY_TIMEOUT,
                backoff: BackoffConfig::default(),
            });
        for (k, v) in &config.raw {
            if let Ok(key) = k.parse::<AmazonS3ConfigKey>() {
                builder = builder.with_config(key, v);
            }
        }
        let store = builder.build()?;
        let prefix = StorePath::parse(url.path())?;
        Ok((Arc::new(store), prefix))
    }
}

struct S3LogStores;

impl LogStoreFactory for S3LogStores {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(prefixed_store, root_store, location, options))
    }
}
