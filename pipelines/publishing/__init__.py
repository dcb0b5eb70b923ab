"""Publishing the auditor's bundle (manifest, validated tables, published numbers) and
auditing it again."""
