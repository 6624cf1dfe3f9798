"""Config sections for the data side: which dataset, where S3 lives, where Ray runs."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dance.config._base import Section
from dance.errors import InputError

DatasetName = Literal[
    "ucf101", "haa500", "haa100", "penn_action", "kth", "kinetics", "folder", "table", "synth"
]
DATASET_NAMES: tuple[str, ...] = DatasetName.__args__

# The keys each dataset needs (besides name) when no ready manifest is given.
_REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "ucf101": ("root",),
    "haa500": ("root",),
    "haa100": ("root",),
    "penn_action": ("root",),
    "kth": ("root",),
    "kinetics": ("csv", "root"),
    "folder": ("root",),
    "table": ("csv",),
    "synth": ("root",),
}
# Keys that mean something for some datasets only; set elsewhere they are a mistake.
_KEY_APPLIES_TO: dict[str, tuple[str, ...]] = {
    "actions": ("kth",),
    "csv": ("kinetics", "table"),
    "classes_file": ("haa100",),
    "split_index": ("ucf101",),
    "test_fraction": ("folder",),
}


class DatasetConfig(BaseModel):
    """Which dataset to index and how.

    Defaults: root, manifest, actions, csv, classes_file None; split_index 1 (UCF-101 official
    split); val_fraction 0.1 (share of each class's train videos carved into val); seed 0;
    test_fraction 0.2 (folder datasets without train/ and test/ folders).
    """

    model_config = ConfigDict(extra="forbid")

    name: DatasetName = Field(description="which adapter reads the dataset")
    root: str | None = Field(None, description="dataset root folder (kinetics: the videos folder)")
    manifest: str | None = Field(
        None, description="an existing manifest.parquet to use instead of scanning root"
    )
    shifted_manifest: str | None = Field(
        None,
        description="a manifest of a shifted test set (the same classes in other contexts, "
        "e.g. UCF-101-SCUBA), evaluated as the split `shifted`; DANCE-Synth's own is found "
        "beside its videos",
    )
    split_index: int = Field(1, ge=1, le=3, description="official split (UCF-101: 1, 2 or 3)")
    actions: list[str] | None = Field(None, description="KTH actions to keep (KTH-5: five)")
    csv: str | None = Field(
        None, description="annotation CSV (kinetics) or the table itself, CSV/Parquet (table)"
    )
    classes_file: str | None = Field(
        None, description="HAA-100 class list, one per line (default: first 100 sorted)"
    )
    val_fraction: float = Field(
        0.1, ge=0, lt=1, description="share of each class's train videos carved into val"
    )
    test_fraction: float = Field(
        0.2, ge=0, lt=1, description="folder datasets without split folders: share for test"
    )
    seed: int = Field(0, description="seed of the val (and folder test) split")

    @model_validator(mode="after")
    def _keys_fit_the_dataset(self) -> DatasetConfig:
        """Each dataset's required keys are set; keys meant for other datasets are not."""
        for key, names in _KEY_APPLIES_TO.items():
            if (
                key in self.model_fields_set
                and self.name not in names
                and (getattr(self, key) != type(self).model_fields[key].default)
            ):
                raise ValueError(
                    f"dataset.{key} applies to name {' or '.join(names)}, not {self.name!r}; "
                    f"remove dataset.{key}"
                )
        if self.manifest is not None:
            return self
        missing = [key for key in _REQUIRED_KEYS[self.name] if getattr(self, key) is None]
        if missing:
            keys = " and ".join(f"dataset.{key}" for key in missing)
            raise ValueError(
                f"dataset.name={self.name} needs {keys}"
                + (
                    " (kinetics: csv is the annotation CSV, root the videos folder)"
                    if self.name == "kinetics"
                    else ""
                )
                + "; or set dataset.manifest to an existing manifest.parquet"
            )
        return self


def split_s3_endpoint(url: str, source: str) -> tuple[str, str]:
    """Split "http(s)://host[:port]" into (scheme, "host[:port]"); `source` names the input."""
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise InputError(
            f"{source} {url!r} is not an S3 endpoint URL; write it as "
            "'http://HOST:PORT' or 'https://HOST' (scheme required, no path)"
        )
    return parts.scheme, parts.netloc


class StorageConfig(BaseModel):
    """Where S3 lives and how patiently to talk to it.

    Defaults: `s3_endpoint` None -> $AWS_ENDPOINT_URL_S3 / $AWS_ENDPOINT_URL, else AWS's
    own endpoint; `s3_region` None -> $AWS_REGION / $AWS_DEFAULT_REGION, else "us-east-1";
    `connect_timeout_s` 5.0; `request_timeout_s` 20.0; `max_attempts` 3 (tries per S3
    request, counting the first, for transient errors). Credentials always come from the
    standard AWS chain (environment variables, profile), never from this object.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    s3_endpoint: str | None = Field(
        default=None, description='S3 endpoint URL, e.g. "http://127.0.0.1:9000".'
    )
    s3_region: str | None = Field(default=None, min_length=1, description="S3 region.")
    connect_timeout_s: float = Field(default=5.0, gt=0, description="TCP connect timeout.")
    request_timeout_s: float = Field(default=20.0, gt=0, description="Per-request timeout.")
    max_attempts: int = Field(default=3, ge=1, description="Tries per S3 request.")

    @field_validator("s3_endpoint")
    @classmethod
    def _endpoint_is_http_url(cls, value: str | None) -> str | None:
        """Accept only http(s)://host[:port] so the scheme is never guessed."""
        if value is not None:
            split_s3_endpoint(value, source="storage.s3_endpoint")
        return value

    @field_validator("s3_region")
    @classmethod
    def _region_has_no_spaces(cls, value: str | None) -> str | None:
        """Reject regions with whitespace, a common copy-paste error."""
        if value is not None and (value != value.strip() or " " in value):
            raise ValueError(f"storage.s3_region {value!r} contains spaces; e.g. 'us-east-1'")
        return value


class RayConfig(Section):
    """Where and how Ray runs: a cluster address, or a local instance started in-process."""

    address: str | None = Field(
        None, description="Ray cluster address; None uses $RAY_ADDRESS, else starts Ray locally."
    )
    num_cpus: int | None = Field(None, gt=0, description="CPUs of a local Ray instance.")
    namespace: str = Field("dance", description="Ray namespace the jobs run in.")


class RunConfig(Section):
    """How `dance run` shares its workdir: one run at a time, under a lease it renews."""

    lock_lease_s: float = Field(
        60.0, gt=0, description="seconds a run's workdir lock lives without renewal; the lock "
        "of a killed run is taken over once this has passed",
    )
    lock_wait_s: float = Field(
        0.0, ge=0, description="seconds a second run on the same workdir waits for the running "
        "one before refusing (0: refuse at once)",
    )
