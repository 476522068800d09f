"""Identity provider adapters (HTTP); see face_verify.api for the contract."""
