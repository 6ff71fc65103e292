from baas.store.mongo.engine import MongoEngine

__all__ = ["MongoEngine"]
