"""Write the binary documents of samples/: a deployment runbook PDF and a DOCX policy.

The text is written for the project (MIT, like the rest of the repository). Output is
byte-for-byte reproducible, so rerunning leaves git clean and the ingest manifest
unchanged. Needs the [dev] extra (fpdf2):

    .venv/bin/python scripts/make_samples.py
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import docx
from fpdf import FPDF

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
FIXED_TIME = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)

# (page heading, [(subheading or "", paragraph), ...]); one heading per PDF page.
RUNBOOK = [
    (
        "1. Before you start",
        [
            (
                "",
                "This runbook takes RAGstream from a laptop to a small EC2 instance in "
                "your own AWS account, behind HTTPS on your own domain name. Allow thirty "
                "minutes for the first deployment and five for every release after it.",
            ),
            (
                "What you need",
                "An AWS account with permission to create IAM roles, an "
                "ECR repository, an EC2 instance, an Elastic IP and Route53 records; a "
                "hosted zone for your domain in Route53; Docker on the machine that builds "
                "the image; and, if you want generated answers, an OpenAI API key.",
            ),
            (
                "Settings",
                "Run 'ragstream deploy init' once. It writes ragstream.deploy.toml "
                "with the region, the instance type (t3.small is enough for ten thousand "
                "pages), the domain name and the name prefix used for every resource. No "
                "account id or resource name is hard-coded anywhere else.",
            ),
            (
                "Check who you are",
                "Run 'ragstream deploy whoami' and compare the account "
                "and the role it prints with the ones you meant to use. Deploying into the "
                "wrong account is the most common and most expensive mistake.",
            ),
        ],
    ),
    (
        "2. Plan, then apply",
        [
            (
                "",
                "Deployment works in two steps, like a database migration: first look, "
                "then change. Nothing is created until you apply.",
            ),
            (
                "Plan",
                "'ragstream deploy plan' only reads from AWS. It lists each resource "
                "it would create or change: the ECR repository and its lifecycle policy, the "
                "instance role and profile, the security group that opens ports 80 and 443, "
                "the instance, the Elastic IP and the DNS record. Read the plan before going on.",
            ),
            (
                "Apply",
                "'ragstream deploy apply' carries out the same plan, step by step, "
                "and prints each step as it finishes. If a step fails, fix the cause and run "
                "apply again: steps that already succeeded are found and skipped.",
            ),
            (
                "The OpenAI key",
                "Store the key with 'ragstream deploy secret set'. It asks "
                "for the value at a hidden prompt and writes it to SSM Parameter Store as a "
                "SecureString. The key never appears in the image, in a log line, in the "
                "process list or in 'docker inspect'. Check it with 'ragstream deploy secret "
                "check', which shows when it last changed but never the value.",
            ),
        ],
    ),
    (
        "3. Releasing a new version",
        [
            (
                "",
                "A release builds the image, pushes it to ECR and tells the host agent to "
                "start it. The previous image stays on the host as the rollback target.",
            ),
            (
                "Release",
                "Run 'ragstream deploy release'. The agent pulls the new image, "
                "starts it next to the old one, waits for the health check to pass, then "
                "switches the proxy over and stops the old container. Users see no downtime.",
            ),
            (
                "Watch it",
                "Run 'ragstream deploy status' for the running version, the "
                "health of the app and the age of the certificate, and 'ragstream deploy "
                "logs' for the last lines the app wrote. Watch for ten minutes after every "
                "release.",
            ),
            (
                "Rollback",
                "If answers get slow or wrong, run 'ragstream deploy rollback'. It "
                "starts the previous image again, usually in under a minute. Then find the "
                "cause at your own pace.",
            ),
        ],
    ),
    (
        "4. Rotating the OpenAI key",
        [
            (
                "",
                "Rotate the key every ninety days, and at once if it may have leaked, for "
                "example after it was pasted into a chat or a ticket.",
            ),
            (
                "Steps",
                "Create the new key in the OpenAI dashboard. Store it with 'ragstream "
                "deploy secret set'. Run 'ragstream deploy release' so the app restarts and "
                "reads the new value from Parameter Store. Ask a question in the web page and "
                "check that the answer streams. Only then revoke the old key.",
            ),
            (
                "If answers stop",
                "An answer that fails with an authentication error means "
                "the app still holds a revoked key. Run the release again; if that does not "
                "help, check the parameter name in ragstream.deploy.toml.",
            ),
        ],
    ),
    (
        "5. Tearing down",
        [
            (
                "",
                "'ragstream deploy destroy' removes the instance, the Elastic IP, the DNS "
                "record, the security group and the role. It keeps the ECR repository and the "
                "secret unless you add --everything, and it asks you to type the name prefix "
                "to confirm.",
            ),
            (
                "Costs",
                "A t3.small instance with a 20 GB disk costs a few dollars a week. The "
                "Elastic IP is free while it is attached to a running instance and charged "
                "when it is not, so destroy what you no longer use.",
            ),
        ],
    ),
]


def make_runbook(path: Path) -> None:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED_TIME)
    pdf.set_title("RAGstream deployment runbook")
    pdf.set_margins(20, 20, 20)
    for heading, paragraphs in RUNBOOK:
        pdf.add_page()
        pdf.start_section(heading)  # a bookmark: the loader's section title for the page
        pdf.set_font("Helvetica", "B", 16)
        pdf.multi_cell(0, 9, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        for subheading, text in paragraphs:
            if subheading:
                pdf.set_font("Helvetica", "B", 12)
                pdf.multi_cell(0, 7, subheading, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", "", 11)
            pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
    pdf.output(str(path))


POLICY_TABLE = [
    ("Data", "Where it lives", "Kept for", "Deleted by"),
    ("Uploaded documents", "Workspace directory on the host disk", "Until removed", "The owner"),
    ("Search index", "SQLite file in the workspace", "As long as its documents", "Ingest"),
    ("Questions and answers", "Not stored", "Not kept", "Nothing to delete"),
    ("Application logs", "Docker log files on the host", "14 days", "Log rotation"),
    ("OpenAI API key", "SSM Parameter Store (SecureString)", "Until rotated", "Administrator"),
]


def make_policy(path: Path) -> None:
    document = docx.Document()
    document.core_properties.created = FIXED_TIME
    document.core_properties.modified = FIXED_TIME
    document.core_properties.last_modified_by = "RAGstream"
    document.add_heading("Data retention policy for RAGstream", level=0)
    document.add_paragraph(
        "This policy says which data a RAGstream installation keeps, where, and for how "
        "long. It applies to every installation run by the team, on a laptop or on AWS."
    )
    document.add_heading("Scope", level=1)
    document.add_paragraph(
        "The policy covers the documents users upload, the index built from them, the "
        "questions users ask, the application logs and the secrets the app needs. It "
        "does not cover copies users keep elsewhere."
    )
    document.add_heading("What we keep", level=1)
    document.add_paragraph("The table lists each kind of data and how long it is kept.")
    table = document.add_table(rows=0, cols=4)
    table.style = "Table Grid"
    for row in POLICY_TABLE:
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = value
    document.add_heading("Questions are not stored", level=2)
    document.add_paragraph(
        "Questions and answers live only in the browser session. When a user closes the "
        "tab they are gone; nothing is written to disk or to the logs. When generated "
        "answers are switched on, the question and the retrieved passages are sent to "
        "the OpenAI API, whose own retention terms then apply."
    )
    document.add_heading("Deleting a document", level=2)
    document.add_paragraph(
        "Remove the file from the documents folder and run an ingest, or run "
        "'ragstream docs --remove PATH'. Both remove every passage of the document from "
        "the index at once; no search can return it afterwards."
    )
    document.add_heading("Secrets", level=1)
    document.add_paragraph(
        "The OpenAI key is rotated every ninety days and at once after a suspected leak. "
        "It is never written to an image, a log line, a command line or a ticket."
    )
    document.add_heading("Review", level=1)
    document.add_paragraph(
        "The team reviews this policy every January and after every incident that "
        "involved user data."
    )
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(_fixed_zip_times(buffer.getvalue()))


def _fixed_zip_times(data: bytes) -> bytes:
    """Rewrite a zip with fixed entry times: python-docx stamps the current time."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, source.read(item.filename))
    return out.getvalue()


def make_samples(folder: Path) -> list[Path]:
    paths = [folder / "deployment-runbook.pdf", folder / "data-retention-policy.docx"]
    make_runbook(paths[0])
    make_policy(paths[1])
    return paths


def main() -> None:
    make_samples(SAMPLES)
    for path in sorted(SAMPLES.iterdir()):
        print(f"{path.stat().st_size:>8}  {path.relative_to(SAMPLES.parent)}")


if __name__ == "__main__":
    main()
