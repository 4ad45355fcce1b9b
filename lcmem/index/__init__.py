"""The search tier: FAISS candidates and their exact re-scoring with the LCMem head."""
