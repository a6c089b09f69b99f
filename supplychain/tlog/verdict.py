"""A verdict per entry of a piece of evidence: ``tlog verify``'s library half.

Each entry is checked on its own (the artifact it is about, when one is named; its SET, inclusion proof and key
window; optionally the log's own copy of it), and a failure is that entry's verdict, not a failure to answer: the
others are still checked, and the caller reports every verdict before it fails.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from supplychain.errors import SupplyChainError, VerificationError
from supplychain.tlog.client import EntryMismatchError
from supplychain.tlog.evidence import EntryVerification, RekorEntry, verify_entry
from supplychain.tlog.kind import artifact_mismatch

if TYPE_CHECKING:
    from supplychain.tlog.client import RekorClient
    from supplychain.trust.keyring import LogKeyring


class ArtifactMismatchError(VerificationError):
    """A valid entry about another artifact than the one named (evidence presented for the wrong thing)."""

    default_hint = ("the evidence is about another artifact: check that the artifact or digest named is the one the "
                    "bundle was made for")


@dataclass(frozen=True, slots=True)
class EntryVerdict:
    """One entry and what was proven about it, or why it did not verify."""

    entry: RekorEntry
    verification: EntryVerification | None
    error: SupplyChainError | None


@dataclass(frozen=True, slots=True)
class EntryVerdicts:
    """Every entry's verdict, in the evidence's order; ``online``: each was also confirmed with the log."""

    verdicts: tuple[EntryVerdict, ...]
    online: bool

    @property
    def errors(self) -> list[SupplyChainError]:
        return [verdict.error for verdict in self.verdicts if verdict.error is not None]

    def failure(self) -> VerificationError | None:
        """One error for all entries that did not verify (the first one's message and hint), or None."""
        failed = self.errors
        if not failed:
            return None
        first = failed[0]
        message = first.message if len(failed) == 1 else (
            f"{len(failed)} of {len(self.verdicts)} entries did not verify; first: {first.message}")
        return VerificationError(message, hint=first.hint)


def verify_entries(entries: Iterable[RekorEntry], keyring: LogKeyring, *, artifact: tuple[str, bytes] | None = None,
                   client: RekorClient | None = None) -> EntryVerdicts:
    """Verify each entry offline against ``keyring`` (and, given ``artifact`` as ``(algorithm, digest)``, that it
    is about that artifact); with ``client``, also fetch it from the log and prove its inclusion there."""
    verdicts = []
    for entry in entries:
        try:
            if artifact is not None:
                problem = artifact_mismatch(entry.entry.body, *artifact)
                if problem is not None:
                    raise ArtifactMismatchError(f"entry {entry.log_index} does not match the artifact: {problem}")
            verification = verify_entry(entry, keyring)
            if client is not None:
                verification = client.confirm_entry(entry).verification
        except (VerificationError, EntryMismatchError) as exc:  # a verdict on this entry, not a failure to answer
            verdicts.append(EntryVerdict(entry, None, exc))
            continue
        verdicts.append(EntryVerdict(entry, verification, None))
    return EntryVerdicts(tuple(verdicts), online=client is not None)
