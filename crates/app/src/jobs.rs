//! (being moved here by the service-layer issue)
