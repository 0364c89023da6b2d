"""Good CSV files of each import kind (events, contacts, tickets), as an operator would export them."""

EVENTS = """code,name,startTime,endTime,venueSite,venueCity,venueZip,venueCountryCode
WC26-M01,Opening match,2026-06-11T19:00:00Z,2026-06-11T21:00:00Z,Estadio Azteca,Mexico City,04650,mx
WC26-M02,"Match 2, group A",2026-06-12T20:00:00+02:00,,Stade de France,Saint-Denis,93200,FR
"""

CONTACTS = """\ufeffreference,kind,title,firstName,lastName,email,birthDate,country,allowPromoEmail,hasInternetAccount
C1,INDIVIDUAL,Ms,Ana,Lima,ana@example.com,1990-04-02,BR,true,TRUE
C2,RELAY,,Bob,Stone,bob@example.com,,,,
C3,STRUCTURE,,,Acme,office@acme.example,,US,false,false
"""

TICKETS = """number,eventCode,culturalContactReference,buyerContactReference,seat,price,currency
T-0001,WC26-M01,C1,C3,A-1,120.50,usd
T-0002,WC26-M01,C2,,A-2,,
,WC26-M02,C1,,,,
"""
