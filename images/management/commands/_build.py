"""What genimage and packimage share: submit the build job in the foreground, stream its log.

The job is made by :func:`images.services.start_build` (through
:func:`snportal.jobs.submit`, not queued) and run by :func:`snportal.jobs.run_here`: its
body in a thread, exactly as a worker runs it, while this thread prints the job's log as
it grows, so what the terminal shows is what the job page shows. Ctrl-C asks the job to
cancel and waits for it to stop.
"""

from __future__ import annotations

from django.core.management.base import CommandError

from images import services
from images.models import OsImage
from snportal import jobs
from snportal.management.base import PortalCommand
from snportal.models import Job


def find_image(name: str) -> OsImage:
    image = OsImage.objects.filter(imagename=name).first()
    if image is None:
        raise CommandError(f"no osimage named {name!r} (lsdef -t osimage)")
    return image


class BuildCommand(PortalCommand):
    """genimage/packimage: take the image's build lock as ``--user`` and run the job here."""

    permission = "images.build_osimage"
    errors = (services.BuildError,)
    kind = ""

    def build(self, imagename: str, **options: str | None) -> Job:
        image = find_image(imagename)

        def stream(text: str) -> None:
            self.stdout.write(text, ending="")
            self.stdout.flush()

        job = services.start_build(image, self.kind, actor=self.who, submit=False, **options)
        self.stderr.write(f"{job.kind} {job.target}: job #{job.pk}")
        job = jobs.run_here(job, stream)
        if job.status != Job.Status.SUCCEEDED:
            raise CommandError(f"{job.kind} {job.target}: job #{job.pk} {job.status}: {job.error}")
        self.stdout.write(job.phase)
        return job
