"""Where papers come from: the arXiv export API client, the bundled snapshot, and the one record
validator both go through."""
