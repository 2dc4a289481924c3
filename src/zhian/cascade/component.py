"""The GA/T 1400 parts of a node (the server in ingest.viid, the upward link here), built
and started together by the composition root."""

from __future__ import annotations

from zhian.cascade.viid_client import ViidUpperClient
from zhian.config import Settings
from zhian.db.engine import Database
from zhian.ingest.images import BlobCipher, ImageStore
from zhian.ingest.service import IntakeService
from zhian.ingest.viid.push import SubscriptionPusher
from zhian.ingest.viid.service import ViidService
from zhian.ingest.viid.subscriptions import SubscriptionService
from zhian.kit.clock import Clock


class ViidComponent:
    """The /VIID server state, its subscription pusher and (when configured) the upward client."""

    def __init__(
        self,
        *,
        db: Database,
        intake: IntakeService,
        images: ImageStore,
        clock: Clock,
        settings: Settings,
        cipher: BlobCipher,
    ) -> None:
        self.settings = settings.viid
        self.service = ViidService(
            db=db,
            intake=intake,
            images=images,
            clock=clock,
            settings=settings.viid,
            max_batch_items=settings.intake.max_batch_items,
            cipher=cipher,
        )
        self.subscriptions = SubscriptionService(self.service)
        self.upper = (
            ViidUpperClient(db=db, clock=clock, settings=settings.viid, cipher=cipher)
            if settings.viid.upper_url
            else None
        )
        self.pusher = SubscriptionPusher(self.service, upward=self.upper)

    def start(self) -> None:
        if self.settings.push_enabled:
            self.pusher.start()
            if self.upper is not None:
                self.upper.start()

    def stop(self) -> None:
        self.pusher.stop()
        if self.upper is not None:
            self.upper.stop()
