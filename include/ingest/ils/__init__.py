"""ILS holdings sync: catalog MARC → FOLIO inventory storage (README "ILS sync")."""
