"""The Manifest class: build, validate, write, split and summarise the table of videos."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dance import storage
from dance.manifest._errors import ManifestError
from dance.manifest._schema import MANIFEST_COLUMNS, SPLITS, STRING_COLUMNS, ManifestRecord
from dance.manifest._splits import stratified_pick
from dance.manifest._uris import relativised, resolve_relative_uris
from dance.manifest._validation import checked_class_names, validate_table


class Manifest:
    """A validated manifest table; build it with from_records, from_table or read."""

    def __init__(self, table: pa.Table, class_names: Sequence[str] | None = None) -> None:
        """Validate ``table`` (class names from the argument, its metadata, or its label pairs)."""
        self._table, self._class_names = validate_table(table, class_names, allow_empty=True)

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def from_records(
        cls,
        records: Iterable[ManifestRecord],
        class_names: Sequence[str] | None = None,
        extra: dict[str, Sequence] | None = None,
    ) -> Manifest:
        """Build a manifest; labels are indices into class_names (default: sorted label names)."""
        rows = list(records)
        if not rows:
            raise ManifestError("no videos: the manifest would be empty; check the dataset root")
        for index, row in enumerate(rows):
            if not isinstance(row, ManifestRecord):
                raise ManifestError(
                    f"record {index} is a {type(row).__name__}, not a ManifestRecord"
                )
            for field in STRING_COLUMNS:
                if not isinstance(getattr(row, field), str):
                    raise ManifestError(
                        f"record {row.video_id!r}: field {field!r} must be a str, "
                        f"got {type(getattr(row, field)).__name__}"
                    )
        names = sorted({row.label_name for row in rows}) if class_names is None else class_names
        names = checked_class_names(names)
        index_of = {name: i for i, name in enumerate(names)}
        columns: dict[str, pa.Array] = {
            "video_id": pa.array([r.video_id for r in rows], pa.string()),
            "uri": pa.array([r.uri for r in rows], pa.string()),
            # -1 marks an unknown class; validation reports it by name.
            "label": pa.array([index_of.get(r.label_name, -1) for r in rows], pa.int32()),
            "label_name": pa.array([r.label_name for r in rows], pa.string()),
            "split": pa.array([r.split for r in rows], pa.string()),
        }
        for name, values in (extra or {}).items():
            if name in MANIFEST_COLUMNS:
                raise ManifestError(
                    f"extra column {name!r} clashes with a manifest column; rename it"
                )
            if len(values) != len(rows):
                raise ManifestError(
                    f"extra column {name!r} has {len(values)} values for {len(rows)} records; "
                    "give one value per record, in record order"
                )
            columns[name] = values if isinstance(values, pa.Array) else pa.array(list(values))
        return cls._checked(pa.table(columns), names)

    @classmethod
    def from_table(cls, table: pa.Table) -> Manifest:
        """Validate an existing table (class names from its metadata or its label pairs)."""
        return cls._checked(table, None)

    @classmethod
    def read(cls, uri: str) -> Manifest:
        """Read a manifest; relative uris resolve against the manifest file's directory."""
        if not storage.exists(uri):
            raise ManifestError(
                f"no manifest at {uri!r}; build one with dance.datasets.build_manifest "
                "or check the path"
            )
        table = resolve_relative_uris(storage.read_parquet(uri), uri)
        try:
            return cls._checked(table, None)
        except ManifestError as error:
            raise ManifestError(f"manifest {uri!r}: {error}") from None

    @classmethod
    def _checked(cls, table: pa.Table, class_names: Sequence[str] | None) -> Manifest:
        """Construct, refusing an empty manifest (the public constructors' rule)."""
        validated, names = validate_table(table, class_names, allow_empty=False)
        manifest = cls.__new__(cls)
        manifest._table, manifest._class_names = validated, names
        return manifest

    # -- output ---------------------------------------------------------------------------

    def write(self, uri: str, relative_to: str | None = None) -> None:
        """Write atomically; uris under ``relative_to`` become relative to the manifest's folder."""
        table = self._table
        if relative_to is not None:
            values = [
                relativised(value, relative_to, uri) for value in table.column("uri").to_pylist()
            ]
            position = table.column_names.index("uri")
            table = table.set_column(position, "uri", pa.array(values, pa.string()))
        storage.write_parquet(table, uri)

    # -- views ----------------------------------------------------------------------------

    @property
    def table(self) -> pa.Table:
        """The table: the five manifest columns first, extra columns after, sorted by video_id."""
        return self._table

    @property
    def class_names(self) -> list[str]:
        """Class names; the index of a name is its label."""
        return list(self._class_names)

    @property
    def video_ids(self) -> list[str]:
        """Video ids in row order (sorted)."""
        return self._table.column("video_id").to_pylist()

    def __len__(self) -> int:
        """Number of videos."""
        return self._table.num_rows

    def __repr__(self) -> str:
        """Short description: size, classes, split counts."""
        counts = {name: len(self.split(name)) for name in SPLITS}
        return (
            f"Manifest({len(self)} videos, {len(self._class_names)} classes, "
            + ", ".join(f"{name}={count}" for name, count in counts.items())
            + ")"
        )

    def split(self, name: str) -> Manifest:
        """The rows of one split (may be empty), with the same class names."""
        if name not in SPLITS:
            raise ManifestError(f"unknown split {name!r}; use one of {', '.join(SPLITS)}")
        mask = pc.equal(self._table.column("split"), name)
        return Manifest(self._table.filter(mask), self._class_names)

    def with_validation_split(self, fraction: float = 0.1, seed: int = 0) -> Manifest:
        """Carve a val split from train, stratified per class, seeded and order-independent."""
        if not isinstance(fraction, (int, float)) or not 0 <= fraction < 1:
            raise ManifestError(f"fraction must be in [0, 1), got {fraction!r}")
        if fraction == 0:
            return self
        splits = self._table.column("split").to_pylist()
        existing = splits.count("val")
        if existing:
            raise ManifestError(
                f"the manifest already has {existing} val videos; carving another val split "
                "would mix two. Pass fraction=0 (config: dataset.val_fraction: 0) to keep the "
                "existing val split, or start from a manifest without one"
            )
        ids = self.video_ids
        labels = self._table.column("label").to_pylist()
        by_class: dict[int, list[str]] = {}
        for video_id, label, split in zip(ids, labels, splits, strict=True):
            if split == "train":
                by_class.setdefault(label, []).append(video_id)
        if not by_class:
            raise ManifestError(
                "the manifest has no train videos to carve a val split from; "
                "pass fraction=0 (config: dataset.val_fraction: 0)"
            )
        chosen = stratified_pick(by_class, fraction, seed)
        new_split = [
            "val" if video_id in chosen else split
            for video_id, split in zip(ids, splits, strict=True)
        ]
        table = self._table.set_column(
            MANIFEST_COLUMNS.index("split"), "split", pa.array(new_split, pa.string())
        )
        return Manifest(table, self._class_names)

    def summary(self) -> str:
        """Plain-text table: one row per class with train, val, test and total counts."""
        labels = np.asarray(self._table.column("label").to_numpy(zero_copy_only=False))
        splits = np.asarray(self._table.column("split").to_pylist(), dtype=object)
        num_classes = len(self._class_names)
        counts = np.zeros((num_classes, len(SPLITS)), dtype=np.int64)
        for column, name in enumerate(SPLITS):
            counts[:, column] = np.bincount(labels[splits == name], minlength=num_classes)
        width = max([len("class"), len("total")] + [len(n) for n in self._class_names])
        header = f"{'class':<{width}}" + "".join(f"  {h:>7}" for h in (*SPLITS, "total"))
        lines = [header, "-" * len(header)]
        for name, row in zip(self._class_names, counts, strict=True):
            lines.append(
                f"{name:<{width}}" + "".join(f"  {v:>7}" for v in (*row, row.sum()))
            )
        lines.append("-" * len(header))
        totals = counts.sum(axis=0)
        lines.append(
            f"{'total':<{width}}" + "".join(f"  {v:>7}" for v in (*totals, totals.sum()))
        )
        return "\n".join(lines)
